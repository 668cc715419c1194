/**
 * Virtual time for the simulated fleet: the deploy code's sleeps (`node:timers/promises`
 * setTimeout) and `Date.now()` run on a clock that jumps to the next due timer as soon as
 * nothing else can run, so health timeouts, poll loops and lock waits cost no real time and
 * happen in the same order every run. Installed by patching the builtin module and syncing its
 * ESM bindings (the code under test is unchanged).
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const timersPromises = require('node:timers/promises') as { setTimeout: (ms?: number, value?: unknown) => Promise<unknown> };

interface Timer {
  due: number;
  seq: number;
  fire: () => void;
}

export interface VirtualClock {
  now(): number;
  uninstall(): void;
}

export function installVirtualClock(): VirtualClock {
  const realSleep = timersPromises.setTimeout;
  const realNow = Date.now;
  let now = realNow();
  let seq = 0;
  let queue: Timer[] = [];
  let scheduled = false;
  // setImmediate runs after every pending promise reaction: the simulated world is idle.
  const tick = () => {
    scheduled = false;
    if (!queue.length) return;
    queue.sort((a, b) => a.due - b.due || a.seq - b.seq);
    now = Math.max(now, queue[0]!.due);
    const due = queue.filter((t) => t.due <= now);
    queue = queue.filter((t) => t.due > now);
    for (const t of due) t.fire();
    schedule();
  };
  const schedule = () => {
    if (scheduled || !queue.length) return;
    scheduled = true;
    setImmediate(tick);
  };
  timersPromises.setTimeout = (ms = 0, value?: unknown) =>
    new Promise((resolve) => {
      queue.push({ due: now + Math.max(0, Number(ms) || 0), seq: seq++, fire: () => resolve(value) });
      schedule();
    });
  syncBuiltinESMExports();
  Date.now = () => now;
  return {
    now: () => now,
    uninstall() {
      timersPromises.setTimeout = realSleep;
      syncBuiltinESMExports();
      Date.now = realNow;
      for (const t of queue) t.fire();
      queue = [];
    },
  };
}
