import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heartbeatFresh, runWorker, HEARTBEAT_MAX_AGE_MS } from '../src/worker-core.js';

test('a stop request is honoured between jobs: every job taken is recorded and acknowledged once', async () => {
  const queue = ['1', '2', '3', '4', '5'];
  const taken = [];
  const recorded = [];
  const acked = [];
  let stop = false;
  const done = await runWorker({
    queue: {
      take: async () => {
        const j = queue.shift() ?? null;
        if (j) taken.push(j);
        return j;
      },
      ack: async (j) => void acked.push(j),
    },
    store: {
      record: async (j) => {
        recorded.push(j);
        if (j === '3') stop = true; // the signal arrives while job 3 is in hand
      },
    },
    stopping: () => stop,
    beat: () => undefined,
  });
  assert.equal(done, 3);
  assert.deepEqual(taken, ['1', '2', '3']);
  assert.deepEqual(recorded, taken);
  assert.deepEqual(acked, taken);
  assert.deepEqual(queue, ['4', '5']);
});

test('heartbeat: fresh within the limit, stale or missing after', () => {
  assert.equal(heartbeatFresh(10_000, 10_000 - HEARTBEAT_MAX_AGE_MS), true);
  assert.equal(heartbeatFresh(10_000, 10_000 - HEARTBEAT_MAX_AGE_MS - 1), false);
  assert.equal(heartbeatFresh(10_000, undefined), false);
  assert.equal(heartbeatFresh(10_000, NaN), false);
});

test('a record that fails for a moment is retried: the job is recorded once and acknowledged after it', async () => {
  const queue = ['a'];
  const events = [];
  let failures = 2;
  await runWorker({
    queue: { take: async () => queue.shift() ?? null, ack: async (j) => void events.push(`ack ${j}`) },
    store: {
      record: async (j) => {
        if (failures-- > 0) throw new Error('terminating connection');
        events.push(`record ${j}`);
      },
    },
    stopping: () => events.includes('ack a'),
    beat: () => undefined,
    sleep: async () => undefined,
    onRetry: (_e, n) => events.push(`retry ${n}`),
  });
  assert.deepEqual(events, ['retry 1', 'retry 2', 'record a', 'ack a']);
});
