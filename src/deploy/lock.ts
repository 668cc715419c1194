/**
 * The deploy lock across a fleet: one atomic `mkdir` lock per host, taken in host order so two
 * deploys cannot both hold part of the fleet for long; all-or-nothing.
 */
import { EnvironmentError } from '../util/errors.ts';
import { notYet, poll, PollError } from '../util/poll.ts';
import { deployClock, type HostOps } from './host-ops.ts';
import { describeHolder, type LockInfo } from './records.ts';
import { UsageError } from '../util/errors.ts';

/** `--lock-wait SECONDS` for every verb that takes the lock (deploy, rollback): a number >= 0. */
export function parseLockWait(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--lock-wait: expected a number of seconds (0 or more), got "${value}"`);
  return n;
}

/** Someone else is deploying: exit 3, naming who. */
export class LockHeldError extends EnvironmentError {
  constructor(
    readonly host: string,
    readonly holder: LockInfo | undefined,
    env: string,
  ) {
    super(
      `deploy lock on ${host} is held by ${holder ? describeHolder(holder) : 'an unknown holder'}`,
      `wait for it (--lock-wait SECONDS), or if that deploy is dead: pier lock status ${env}, then pier lock release ${env}`,
    );
  }
}

/** Take the lock on every host, waiting up to `waitSeconds` for a holder to finish. */
export async function acquireFleetLock(hosts: HostOps[], info: LockInfo, env: string, waitSeconds = 0, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  if (!Number.isFinite(deadline)) throw new UsageError(`--lock-wait: expected a number of seconds, got "${waitSeconds}"`);
  // One attempt at the whole fleet per second until the deadline (at least one); a refused attempt
  // gives back what it took. Give-up (deadline or abort) is the last refusal, naming the holder.
  let refused: { host: string; holder?: LockInfo } | undefined;
  await poll(`deploy lock on ${env}`, async () => {
    const taken: HostOps[] = [];
    refused = undefined;
    try {
      for (const h of hosts) {
        const r = await h.tryLock(info);
        if (r.taken) taken.push(h);
        else {
          refused = { host: h.name, holder: r.holder };
          break;
        }
      }
    } catch (e) {
      await releaseFleetLock(taken, info.run);
      throw e;
    }
    if (!refused) return true;
    await releaseFleetLock(taken, info.run);
    if (signal?.aborted) throw new LockHeldError(refused.host, refused.holder, env);
    return notYet(refused.host);
  }, { timeoutMs: waitSeconds * 1000, intervalMs: 1000, retry: () => false, clock: deployClock }).catch((e: unknown) => {
    if (e instanceof PollError && refused) throw new LockHeldError(refused.host, refused.holder, env);
    throw e;
  });
}

export interface LockRelease {
  released: string[];
  /** Hosts where the lock could not be released (unreachable): reported to the user. */
  held: { host: string; error: string }[];
}

/** Release this run's lock on every host it can reach. */
export async function releaseFleetLock(hosts: HostOps[], runId: string): Promise<LockRelease> {
  const out: LockRelease = { released: [], held: [] };
  await Promise.all(
    hosts.map(async (h) => {
      try {
        await h.unlock(runId);
        out.released.push(h.name);
      } catch (err) {
        out.held.push({ host: h.name, error: (err as Error).message });
      }
    }),
  );
  return out;
}

/** Lock record per host (undefined when free). */
export async function readFleetLock(hosts: HostOps[]): Promise<{ host: string; holder?: LockInfo }[]> {
  return Promise.all(hosts.map(async (h) => ({ host: h.name, holder: await h.lockHolder() })));
}

/** Remove the lock whoever holds it. */
export async function forceReleaseFleetLock(hosts: HostOps[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.forceUnlock()));
}
