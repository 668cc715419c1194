/** Switch a host to a release whose container is retained on it: auto-rollback and `pier rollback`. */
import { deployClock, type HostOps, type Release } from './host-ops.ts';
import type { ReleaseEvent } from './records.ts';
import { reconcileRecords } from './reconcile.ts';
import { upstreamOf } from './strategies/types.ts';
import type { DeployTarget } from './target.ts';

export interface SwitchBackOptions {
  target: DeployTarget;
  runId: string;
  event: ReleaseEvent;
  /** The release being left (stopped after the drain, kept for forensics/roll-forward). */
  from?: Release;
  /** Called once traffic is on `to` (before the drain). */
  onSwitched?: () => void;
  /**
   * How `from` is stopped after the drain: 'wait' (default) drains and stops it before returning;
   * 'schedule' leaves both to a detached timer on the host (commands/retire.ts), so the caller
   * returns once traffic is on `to` and recorded (`pier rollback`). The timer skips the stop when
   * `from` serves again by then.
   */
  retire?: 'wait' | 'schedule';
  /**
   * `to` was running when the caller listed the host's containers (kept running through the
   * rollback window): one health probe confirms it instead of a start and a health wait. Any
   * answer but 200 falls back to the full path (start, health wait with the usual timeout).
   */
  running?: boolean;
}

/** Start `to` if stopped, health-check it, point the proxy at it, drain and stop `from`. */
export async function switchHostTo(ops: HostOps, to: Release, o: SwitchBackOptions): Promise<void> {
  const schedule = o.retire === 'schedule';
  // The health gate is the same either way: the app itself answers 200 before the proxy moves.
  const confirmed = o.running && (await ops.lookHealthy(to)).state === 'healthy';
  const started = confirmed ? to : await ops.restart(to);
  if (!confirmed) await ops.waitHealthy(started, o.target.settings.healthTimeoutSeconds);
  const leaving = o.from && o.from.container !== to.container ? o.from : undefined;
  try {
    await ops.switchProxy([upstreamOf(started, o.target.appPort)]);
    await ops.smoke();
    o.onSwitched?.();
    const cur = { version: to.version, image: to.image, container: to.container, since: new Date().toISOString(), by: o.target.by, run: o.runId };
    // Records are written while the old release drains: traffic is already on `to`.
    await Promise.all([
      ops.recordSwitch(cur, { ...cur, event: o.event, ...(o.from ? { from: o.from.version } : {}) }),
      leaving && !schedule && o.target.settings.drainSeconds > 0 ? deployClock.sleep(o.target.settings.drainSeconds * 1000) : undefined,
    ]);
  } catch (e) {
    // Traffic may already be on `to` (even when the switch itself reported a failure): leave the
    // records saying what the proxy serves, then fail.
    await reconcileRecords(ops, o.target.by, o.runId).catch(() => undefined);
    throw e;
  }
  if (!leaving) return;
  // After the records: the timer's check reads current.json, which now names `to`.
  if (schedule) await ops.scheduleStop(leaving.container, o.target.settings.drainSeconds);
  else await ops.stop(leaving.container);
}
