/**
 * Which notifications a deploy, a rollback or the steps after a deploy produce (pure, but for
 * `watchDeploy`, which listens to a deploy's progress so `rollback.triggered` goes out when the
 * rollback starts, not when the command ends).
 */
import type { DeployReport } from '../deploy/deploy.ts';
import type { Progress, ProgressEvent } from '../deploy/progress.ts';
import type { ReleaseStep } from '../release/report.ts';
import { digestOf } from '../util/image-ref.ts';
import type { NotifyEventName } from './events.ts';
import type { Notifier } from './notifier.ts';

type Fields = Parameters<Notifier['emit']>[1];
export type Emission = [NotifyEventName, Fields];

const FAILURE_PHASES: ReadonlySet<ProgressEvent['phase']> = new Set(['unhealthy', 'failed', 'interrupted']);

/** `rollback.triggered` the moment a deploy starts switching hosts back, with the failure seen last. */
export function watchDeploy(notifier: Notifier, progress: Progress, version: string, hosts: string[]): void {
  let lastFailure: string | undefined;
  let triggered = false;
  progress.subscribe((e) => {
    if (FAILURE_PHASES.has(e.phase)) lastFailure = `${e.host}: ${e.phase}${e.detail ? ` (${e.detail})` : ''}`;
    if (e.phase === 'analysis' && /fail|roll/i.test(e.detail ?? '')) lastFailure = `${e.host}: ${e.detail}`;
    if (e.phase === 'rolling-back' && !triggered) {
      triggered = true;
      notifier.emit('rollback.triggered', { version, hosts, reason: lastFailure ?? 'the deploy failed' });
    }
  });
}

/** What the end of a deploy tells: `rollback.done` when hosts went back, then succeeded or failed. */
export function deployEndEmissions(r: DeployReport): Emission[] {
  const hosts = r.hosts.map((h) => h.host);
  const out: Emission[] = [];
  const back = r.hosts.filter((h) => h.status === 'rolled-back');
  if (back.length) out.push(['rollback.done', { version: back[0]!.serving, hosts: back.map((h) => h.host), durationSeconds: r.seconds, reason: r.error }]);
  if (r.ok) out.push(['deploy.succeeded', { version: r.version, digest: digestOf(r.image), hosts, durationSeconds: r.seconds }]);
  else out.push(['deploy.failed', { version: r.version, digest: digestOf(r.image), hosts, durationSeconds: r.seconds, reason: r.error ?? 'failed' }]);
  return out;
}

interface RollbackLike {
  ok: boolean;
  version?: string;
  seconds: number;
  hosts: { host: string }[];
}

/** The smoke and guard steps after a deploy: a guard that fired, a rollback they caused. */
export function afterStepsEmissions(steps: readonly ReleaseStep[], version: string, hosts: string[]): Emission[] {
  const out: Emission[] = [];
  for (const s of steps) {
    const reason = s.summary.split('\n')[0];
    if (s.name === 'guard' && (s.status === 'failed' || s.status === 'paused')) {
      out.push(['guard.fired', { version, hosts, reason }]);
      const rb = (s.detail as { rollback?: RollbackLike } | undefined)?.rollback;
      if (rb) out.push(['rollback.triggered', { version, hosts, reason: `guard: ${reason}` }], ['rollback.done', { version: rb.version, hosts: rb.hosts.map((h) => h.host), durationSeconds: rb.seconds, ...(rb.ok ? {} : { reason: 'incomplete' }) }]);
    }
    if (s.name === 'rollback') {
      const smoke = steps.find((x) => x.name === 'smoke');
      const rb = s.detail as RollbackLike | undefined;
      out.push(['rollback.triggered', { version, hosts, reason: `smoke failed: ${smoke?.summary.split('\n')[0] ?? ''}` }], ['rollback.done', { version: rb?.version, hosts, durationSeconds: s.seconds, ...(s.status === 'passed' ? {} : { reason: reason }) }]);
    }
  }
  return out;
}

/** A rollback by hand: triggered before, done after. */
export function manualRollbackEmissions(by: string, r: Omit<RollbackLike, 'hosts'> & { hosts: { host: string; ok: boolean }[] }): Emission[] {
  const hosts = r.hosts.map((h) => h.host);
  return [['rollback.done', { version: r.version, hosts, durationSeconds: r.seconds, reason: r.ok ? `by hand (${by})` : `incomplete: ${r.hosts.filter((h) => !h.ok).map((h) => h.host).join(', ')} did not switch` }]];
}
