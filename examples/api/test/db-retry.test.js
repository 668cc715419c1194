import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRead, isUnavailable, retryReads } from '../src/db-retry.js';

const pgError = (code, message = 'x') => Object.assign(new Error(message), { code });

/** A pool answering from a script of outcomes (Error = reject), counting calls. */
function scripted(outcomes) {
  const calls = [];
  return {
    calls,
    async query(text) {
      calls.push(text);
      const next = outcomes.shift();
      if (next instanceof Error) throw next;
      return next ?? { rows: [] };
    },
  };
}
const clock = () => {
  let t = 0;
  return { now: () => t, sleep: async (ms) => void (t += ms) };
};

test('a read whose connection was terminated is run again on a new connection', async () => {
  const pool = scripted([pgError('57P01', 'terminating connection due to administrator command'), { rows: [1] }]);
  const retried = [];
  const db = retryReads(pool, { ...clock(), onRetry: (e) => retried.push(e.message) });
  assert.deepEqual(await db.query('SELECT 1'), { rows: [1] });
  assert.equal(pool.calls.length, 2);
  assert.equal(retried.length, 1);
});

test('while the database refuses connections (a swap) the retry waits, bounded by the budget', async () => {
  const refusing = () => pgError('55000', 'database "api" is not currently accepting connections');
  const ok = scripted([new Error('Connection terminated unexpectedly'), refusing(), pgError('3D000'), { rows: [2] }]);
  assert.deepEqual(await retryReads(ok, { ...clock(), stepMs: 50 }).query('SELECT 2'), { rows: [2] });
  assert.equal(ok.calls.length, 4);
  const never = scripted(Array.from({ length: 100 }, refusing));
  await assert.rejects(retryReads(never, { ...clock(), stepMs: 50, budgetMs: 200 }).query('SELECT 3'), /not currently accepting/);
  assert.equal(never.calls.length, 1 + 5); // first try, then the retry at 0, 50, 100, 150, 200 ms
});

test('writes and other errors are never retried', async () => {
  const write = scripted([pgError('57P01'), { rows: [] }]);
  await assert.rejects(retryReads(write, clock()).query('INSERT INTO items (name) VALUES ($1)', ['a']), (e) => e.code === '57P01');
  assert.equal(write.calls.length, 1);
  const syntax = scripted([pgError('42601', 'syntax error'), { rows: [] }]);
  await assert.rejects(retryReads(syntax, clock()).query('SELECT nope'), /syntax error/);
  assert.equal(syntax.calls.length, 1);
});

test('which statements count as reads and which errors as unavailable', () => {
  assert.ok(isRead('SELECT id FROM items'));
  assert.ok(isRead('  with x as (select 1) select * from x'));
  assert.ok(!isRead('WITH d AS (DELETE FROM items RETURNING id) SELECT * FROM d'));
  assert.ok(!isRead('UPDATE items SET name = $1'));
  assert.ok(isUnavailable(pgError('57P01')));
  assert.ok(isUnavailable({ message: 'Connection terminated unexpectedly' }));
  assert.ok(!isUnavailable(pgError('23505', 'duplicate key')));
  assert.ok(!isUnavailable(undefined));
});
