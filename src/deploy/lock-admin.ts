/** `pier lock status` and `pier lock release`: the operator's view of and hand on the fleet lock. */
import { withHosts } from './fleet.ts';
import { forceReleaseFleetLock, readFleetLock } from './lock.ts';
import { auditLine, type LockInfo } from './records.ts';
import type { DeployTarget } from './target.ts';

/** `pier lock status`. */
export async function lockStatus(target: DeployTarget): Promise<{ host: string; holder?: LockInfo }[]> {
  return withHosts(target, (ops) => readFleetLock(ops));
}

/** `pier lock release`: remove the lock on every host whoever holds it (recorded in the audit log). */
export async function lockRelease(target: DeployTarget): Promise<{ host: string; holder?: LockInfo }[]> {
  return withHosts(target, async (ops, runId) => {
    const before = await readFleetLock(ops);
    await forceReleaseFleetLock(ops);
    const line = auditLine(new Date(), target.by, runId, `lock released by hand (was: ${before.map((b) => `${b.host}:${b.holder?.by ?? 'free'}`).join(' ')})`);
    await Promise.all(ops.map((o) => o.audit(line).catch(() => undefined)));
    return before;
  });
}
