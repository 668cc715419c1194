/**
 * Clocks for analysis runs. Rule time (`for: 2m`, a 10-minute guard window) is read from a Clock,
 * so a test can run it faster than the wall clock: `scaledClock(60)` makes a minute pass in a
 * second (sleeps shortened, `now()` stretched), while everything measured (access-log reads since
 * the previous measurement) stays real.
 */
import { realClock, sleep, type Clock } from '../util/poll.ts';

export { realClock };

export function scaledClock(factor: number, base: Clock = realClock): Clock {
  if (!(factor > 0)) throw new Error('time scale must be > 0');
  const t0 = base.now();
  return {
    now: () => t0 + (base.now() - t0) * factor,
    sleep: (ms, signal) => (base === realClock ? sleep(ms / factor, signal) : base.sleep(ms / factor, signal)),
  };
}

/** A clock that only moves when slept on (unit tests: no real time passes). */
export function manualClock(start = 0): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) return;
      now += Math.max(0, ms);
    },
    advance: (ms) => {
      now += ms;
    },
  };
}
