/**
 * The deploy lock across a fleet: one atomic `mkdir` lock per host, all-or-nothing: first every
 * host at once, then (after a refusal) in host order so two deploys cannot both hold part of the
 * fleet for long.
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

/**
 * Take the lock on every host, waiting up to `waitSeconds` for a holder to finish. The first
 * attempt asks every host at once (one round trip for the fleet); when any host refuses, what it
 * took is given back and every later attempt goes in host order, so two deploys started together
 * cannot keep taking parts of the fleet from each other: the one that gets the first host gets all.
 */
export async function acquireFleetLock(hosts: HostOps[], info: LockInfo, env: string, waitSeconds = 0, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + waitSeconds * 1000;
  if (!Number.isFinite(deadline)) throw new UsageError(`--lock-wait: expected a number of seconds, got "${waitSeconds}"`);
  // One attempt at the whole fleet per second until the deadline (at least one); a refused attempt
  // gives back what it took. Give-up (deadline or abort) is the last refusal, naming the holder.
  let refused: { host: string; holder?: LockInfo } | undefined;
  await poll(`deploy lock on ${env}`, async (attempt) => {
    const taken: HostOps[] = [];
    refused = undefined;
    try {
      if (attempt === 1) {
        const tries = await Promise.allSettled(hosts.map((h) => h.tryLock(info)));
        tries.forEach((r, i) => {
          if (r.status === 'fulfilled' && r.value.taken) taken.push(hosts[i]!);
        });
        const failed = tries.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        // The first refusal in host order is the one reported.
        const i = tries.findIndex((r) => r.status === 'fulfilled' && !r.value.taken);
        if (i >= 0) refused = { host: hosts[i]!.name, holder: (tries[i] as PromiseFulfilledResult<{ taken: false; holder: LockInfo }>).value.holder };
      } else {
        for (const h of hosts) {
          const r = await h.tryLock(info);
          if (r.taken) taken.push(h);
          else {
            refused = { host: h.name, holder: r.holder };
            break;
          }
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

/**
 * Release this run's lock on every host it can reach; `removeEnv` (a deploy): the app's env file
 * is deleted in the same host step, first, and only while this run holds the lock or nobody does.
 */
export async function releaseFleetLock(hosts: HostOps[], runId: string, opts: { removeEnv?: boolean } = {}): Promise<LockRelease> {
  const out: LockRelease = { released: [], held: [] };
  await Promise.all(
    hosts.map(async (h) => {
      try {
        await h.unlock(runId, opts);
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
