/**
 * One simulated fleet per describe/file: started before the tests (alongside whatever else the
 * file needs, e.g. image builds), removed after them, and checked to leave no container behind.
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { exec } from '../../src/util/exec.ts';
import { startFleet, type Fleet } from './fleet.ts';

export interface UseFleetOptions {
  count?: number;
  services?: boolean;
  /** Work to run in parallel with the fleet's start (image builds). */
  alongside?: () => Promise<unknown>[];
}

/** Registers beforeAll/afterAll; `ready` gets the fleet (assign it, push images...). */
export function useFleet(opts: UseFleetOptions, ready: (fleet: Fleet) => void | Promise<void> = () => {}): void {
  let fleet: Fleet | undefined;
  beforeAll(async () => {
    // Settled, not Promise.all: a failed build must not leak a fleet that started (afterAll removes it).
    const [started, ...others] = await Promise.allSettled([startFleet({ count: opts.count, services: opts.services }), ...(opts.alongside?.() ?? [])]);
    if (started!.status === 'fulfilled') fleet = started!.value as Fleet;
    const failed = [started!, ...others].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await ready(fleet!);
  }, 300_000);
  afterAll(async () => {
    if (!fleet) return;
    await fleet.down();
    const left = await exec(['docker', 'ps', '-a', '--filter', `label=pier.run=${fleet.runId}`, '--quiet']);
    expect(left.stdout.trim()).toBe('');
  }, 120_000);
}
