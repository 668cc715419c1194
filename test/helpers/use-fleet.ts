/**
 * One simulated fleet per describe/file: ready before the tests (alongside whatever else the
 * file needs, e.g. image builds), handed back after them, and checked to leave nothing behind.
 *
 * Within `vitest run` the fleet comes from the run's pool (test/helpers/fleet-pool.ts): started
 * once for every file asking for the same host count, reset between files (every container,
 * volume and pier state dir on each host, the registry's tags), removed by the global teardown.
 * Without a pool (a run with no global setup) the file starts and removes its own, as before.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { exec } from '../../src/util/exec.ts';
import { startFleet, type Fleet } from './fleet.ts';
import { acquirePooledFleet, fleetPoolUrl, type PooledFleet } from './pooled-fleet.ts';

export interface UseFleetOptions {
  count?: number;
  services?: boolean;
  /** Work to run in parallel with the fleet's start (image builds). */
  alongside?: () => Promise<unknown>[];
}

/** Registers beforeAll/afterAll; `ready` gets the fleet (assign it, push images...). */
export function useFleet(opts: UseFleetOptions, ready: (fleet: Fleet) => void | Promise<void> = () => {}): void {
  let fleet: Fleet | undefined;
  const pool = fleetPoolUrl();
  beforeAll(async () => {
    const get = pool ? acquirePooledFleet(pool, { count: opts.count ?? 3, services: opts.services === true }) : startFleet({ count: opts.count, services: opts.services });
    // Settled, not Promise.all: a failed build must not leak a fleet that started (afterAll hands it back).
    const [started, ...others] = await Promise.allSettled([get, ...(opts.alongside?.() ?? [])]);
    if (started!.status === 'fulfilled') fleet = started!.value as Fleet;
    const failed = [started!, ...others].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await ready(fleet!);
    // A cold fleet start, image builds and a file's seeding (pushes, first deploys) on a busy machine.
  }, 600_000);
  afterAll(async () => {
    if (!fleet) return;
    if (pool) {
      // Reset for the next file: what this file left (containers labelled with the fleet's run
      // besides its own, anything on a host the reset could not remove) is reported here.
      expect(await (fleet as PooledFleet).release()).toEqual([]);
      return;
    }
    await fleet.down();
    const left = await exec(['docker', 'ps', '-a', '--filter', `label=pier.run=${fleet.runId}`, '--quiet']);
    expect(left.stdout.trim()).toBe('');
  }, 120_000);
}
