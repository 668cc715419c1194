/** Switch a host to a release whose container is retained on it: auto-rollback and `pier rollback`. */
import { deployClock, type HostOps, type Release } from './host-ops.ts';
import type { ReleaseEvent } from './records.ts';
import { reconcileRecords } from './reconcile.ts';
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
  const leaving = o.from && o.from.container !== to.container ? o.from : undefined;
  // With 'schedule' the old release's stop timer is set in the same host step, after the records
  // (the timer's check reads current.json, which then names `to`).
  const stopLater = leaving && schedule ? { container: leaving.container, afterSeconds: o.target.settings.drainSeconds } : undefined;
  const step = async (probeHealth: boolean) => {
    // `since`: when this step runs (after a start and health wait on the slow path).
    const current = { version: to.version, image: to.image, container: to.container, since: new Date().toISOString(), by: o.target.by, run: o.runId };
    const record = { ...current, event: o.event, ...(o.from ? { from: o.from.version } : {}) };
    try {
      return await ops.switchTo(to, { probeHealth, current, record, ...(stopLater ? { stopLater } : {}) });
    } catch (e) {
      // Traffic may already be on `to` (even when the switch itself reported a failure): leave the
      // records saying what the proxy serves, then fail.
      await reconcileRecords(ops, o.target.by, o.runId).catch(() => undefined);
      throw e;
    }
  };
  // A release still running (kept through the rollback window): one host step probes it, and only
  // when it answers 200 switches (the same health gate as a start). Any other answer falls back to
  // the full path: start, health wait with the usual timeout, then the switch.
  if (!o.running || (await step(true)).outcome !== 'switched') {
    await ops.waitHealthy(await ops.restart(to), o.target.settings.healthTimeoutSeconds);
    await step(false);
  }
  o.onSwitched?.();
  if (!leaving || schedule) return;
  if (o.target.settings.drainSeconds > 0) await deployClock.sleep(o.target.settings.drainSeconds * 1000);
  await ops.stop(leaving.container);
}
