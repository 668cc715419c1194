/**
 * Strategies decide the order and shape of a rollout (rolling now; blue/green and canary build on
 * the same context). The orchestrator owns lock, image, migrations, rollback and reporting.
 */
import type { Upstream } from '../commands/nginx.ts';
import type { LogCursor } from '../log-cursor.ts';
import type { HostOps, Release, ReleaseContainer, StartedRelease } from '../host-ops.ts';
import type { Progress } from '../progress.ts';
import type { DeployTarget } from '../target.ts';

/** One host's part in a deploy. */
export interface HostPlan {
  ops: HostOps;
  /** What the host served before this deploy (from its current.json). */
  previous?: Release;
  /** The new release once started on the host. */
  started?: StartedRelease;
  /** True once the proxy points at the new release (the host must be rolled back on failure). */
  switched: boolean;
  /** Where the access log was at the switch (bake window, canary step): read across rotations. */
  logOffset?: LogCursor;
  /** The host's release containers when the deploy began, under its lock (pruning reuses it). */
  containers?: readonly ReleaseContainer[];
}

export interface RolloutContext {
  target: DeployTarget;
  runId: string;
  version: string;
  plans: HostPlan[];
  progress: Progress;
  signal: AbortSignal;
  /** What the strategy found (e.g. canary analysis per step); kept in the run's report. */
  findings?: Record<string, unknown>;
  /** Get the image and env file onto a host (memoised); returns the release to start. */
  prepare(plan: HostPlan): Promise<{ release: Release; envFile?: string }>;
}

export interface Strategy {
  readonly name: string;
  /** Move every host to the new release; throw to make the orchestrator roll back switched hosts. */
  rollout(ctx: RolloutContext): Promise<void>;
}

// The proxy's upstream for a release (commands/nginx.ts); re-exported for the strategies.
export { upstreamOf } from '../commands/nginx.ts';
