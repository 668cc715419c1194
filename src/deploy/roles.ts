/**
 * Roles other than web (worker, scheduler): a release container of the deployed version with its
 * own command, on its own hosts, checked by a command, never behind the proxy. A deploy moves a
 * role on all its hosts at once: start the new container beside the old one, wait until healthy,
 * record the switch (the role's own current.json / releases.jsonl), then stop the old one with its
 * stop signal and drain time (kept, stopped, for rollback). Switching back is the same in reverse.
 * Uses only HostOps; the records and history rules are the web role's (records.ts, history.ts).
 */
import { redact } from '../util/redact.ts';
import { mapLimit } from './executor.ts';
import type { HostOps, Release } from './host-ops.ts';
import type { Progress } from './progress.ts';
import type { ReleaseEvent } from './records.ts';
import type { DeployTarget, RoleSpec } from './target.ts';

/** One host's part of one role in a deploy. */
export interface RolePlan {
  role: RoleSpec;
  ops: HostOps;
  /** What the role ran on this host before (its current.json, container still present). */
  previous?: Release;
  /** The new release's container once started. */
  started?: Release;
  /** The role's records name the new release (it must be switched back on failure). */
  switched: boolean;
}

export interface RoleOutcome {
  role: string;
  host: string;
  status: 'deployed' | 'rolled-back' | 'not-changed' | 'failed' | 'rollback-failed' | 'unchanged';
  serving?: string;
  detail?: string;
}

/** Every (role, host) pair of `target` with what it runs now. */
export async function planRoles(target: DeployTarget, ops: readonly HostOps[]): Promise<RolePlan[]> {
  const pairs = target.roles.flatMap((role) => role.hosts.map((h) => ({ role, ops: ops.find((o) => o.name === h)! })));
  return Promise.all(pairs.map(async ({ role, ops: o }) => {
    const cur = await o.readCurrent(role.name);
    const present = cur ? await o.exists(cur.container) : false;
    return { role, ops: o, switched: false, ...(cur && present ? { previous: { version: cur.version, image: cur.image, container: cur.container } } : {}) };
  }));
}

async function allOrThrow<T>(results: PromiseSettledResult<T>[]): Promise<void> {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export interface RoleRolloutContext {
  target: DeployTarget;
  runId: string;
  version: string;
  progress: Progress;
  signal: AbortSignal;
  /** The release (image) and env file prepared on a host. */
  prepare(o: HostOps): Promise<{ release: Release; envFile?: string }>;
}

/**
 * Move one role (all its hosts at once) to the new release. Throws on the first host that fails
 * (after every host settled), leaving the plans saying what to undo.
 */
export async function rolloutRole(ctx: RoleRolloutContext, plans: RolePlan[]): Promise<void> {
  const limit = Math.max(ctx.target.parallel, 1);
  await allOrThrow(await mapLimit(plans, limit, async (p) => {
    ctx.signal.throwIfAborted();
    const { release, envFile } = await ctx.prepare(p.ops);
    const rel = p.ops.roleRelease(p.role.name, ctx.version, release.image);
    ctx.progress.step(p.ops.name, 'starting', `${p.role.name} ${rel.container}`);
    p.started = rel;
    await p.ops.startRole(p.role, rel, envFile);
    try {
      await p.ops.waitRoleHealthy(p.role, rel, ctx.signal);
    } catch (err) {
      ctx.progress.step(p.ops.name, 'unhealthy', p.role.name);
      await p.ops.remove(rel.container).catch(() => undefined);
      p.started = undefined;
      throw err;
    }
    ctx.progress.step(p.ops.name, 'healthy', p.role.name);
  }));
  // Every host of the role is healthy on the new release: record, then let the old ones go.
  await allOrThrow(await mapLimit(plans, limit, async (p) => {
    p.switched = true;
    const cur = { version: ctx.version, image: p.started!.image, container: p.started!.container, since: new Date().toISOString(), by: ctx.target.by, run: ctx.runId };
    await p.ops.recordSwitch(cur, { ...cur, event: 'deployed', ...(p.previous ? { from: p.previous.version } : {}) }, p.role.name);
    ctx.progress.step(p.ops.name, 'switched', p.role.name);
  }));
  await allOrThrow(await mapLimit(plans, limit, async (p) => {
    if (p.previous && p.previous.container !== p.started!.container) {
      ctx.progress.step(p.ops.name, 'retiring', `${p.role.name} ${p.previous.version}: ${p.role.stopSignal}, up to ${p.role.drainSeconds}s to drain`);
      await p.ops.stop(p.previous.container, p.role.drainSeconds);
    }
    await p.ops.prune(ctx.target.settings.keepReleases, [p.started!.container, ...(p.previous ? [p.previous.container] : [])], undefined, p.role.name);
  }));
}

/**
 * Put a role on one host back on `to` (a retained container): start it, wait healthy, record,
 * stop `from` with its signal and drain. `removeFrom`: a rejected release does not keep a slot.
 */
export async function switchRoleTo(o: HostOps, role: RoleSpec, to: Release, opts: { target: DeployTarget; runId: string; event: ReleaseEvent; from?: Release; removeFrom?: boolean; signal?: AbortSignal }): Promise<void> {
  await o.restart(to);
  await o.waitRoleHealthy(role, to, opts.signal);
  const cur = { version: to.version, image: to.image, container: to.container, since: new Date().toISOString(), by: opts.target.by, run: opts.runId };
  await o.recordSwitch(cur, { ...cur, event: opts.event, ...(opts.from ? { from: opts.from.version } : {}) }, role.name);
  if (opts.from && opts.from.container !== to.container) {
    await o.stop(opts.from.container, role.drainSeconds);
    if (opts.removeFrom) await o.remove(opts.from.container);
  }
}

/** After a failed deploy: every role host that switched goes back; a started, unswitched container is removed. */
export async function recoverRoles(ctx: RoleRolloutContext, plans: RolePlan[]): Promise<RoleOutcome[]> {
  const results = await mapLimit(plans, Math.max(ctx.target.parallel, plans.length, 1), async (p): Promise<RoleOutcome> => {
    const base = { role: p.role.name, host: p.ops.name };
    try {
      if (p.switched && p.previous) {
        ctx.progress.step(p.ops.name, 'rolling-back', `${p.role.name} to ${p.previous.version}`);
        await switchRoleTo(p.ops, p.role, p.previous, { target: ctx.target, runId: ctx.runId, event: 'rolled-back', from: p.started, removeFrom: true });
        ctx.progress.step(p.ops.name, 'rolled-back', p.role.name);
        return { ...base, status: 'rolled-back', serving: p.previous.version, detail: `back on ${p.previous.version}` };
      }
      if (p.switched) {
        // Nothing ran before: the role goes back to not running (never a release the fleet left).
        if (p.started) await p.ops.stop(p.started.container, p.role.drainSeconds).then(() => p.ops.remove(p.started!.container));
        return { ...base, status: 'rolled-back', detail: 'stopped (no previous release of this role)' };
      }
      if (p.started) await p.ops.remove(p.started.container);
      return { ...base, status: 'not-changed', serving: p.previous?.version };
    } catch (e) {
      ctx.progress.step(p.ops.name, 'failed', `${p.role.name}: ${(e as Error).message}`);
      return { ...base, status: 'rollback-failed', detail: redact((e as Error).message) };
    }
  });
  return results.map((r, i) => (r.status === 'fulfilled' ? r.value : { role: plans[i]!.role.name, host: plans[i]!.ops.name, status: 'rollback-failed', detail: String(r.reason) }));
}
