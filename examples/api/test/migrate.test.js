import { test } from 'node:test';
import assert from 'node:assert/strict';
import { orderMigrationFiles, pendingMigrations, readMigrations } from '../src/migrate.js';

test('files are ordered by number, not by string', () => {
  assert.deepEqual(orderMigrationFiles(['10_c.sql', '2_b.sql', 'README.md', '001_a.sql']), ['001_a.sql', '2_b.sql', '10_c.sql']);
});

test('badly named or duplicated migrations are rejected by name', () => {
  assert.throws(() => orderMigrationFiles(['001_a.sql', 'add-users.sql']), /migrations\/add-users.sql: expected a name like 001_create_items.sql/);
  assert.throws(() => orderMigrationFiles(['001_a.sql', '1_b.sql']), /migrations\/1_b.sql: number 1 is also used by 001_a.sql/);
});

const m = (/** @type {string} */ version, checksum = `sum-${version}`) => ({ version, file: `${version}.sql`, sql: '', checksum });

test('pending: everything not recorded, in order', () => {
  const all = [m('001_a'), m('002_b'), m('003_c')];
  assert.deepEqual(pendingMigrations(all, new Map()).map((x) => x.version), ['001_a', '002_b', '003_c']);
  assert.deepEqual(pendingMigrations(all, new Map([['001_a', 'sum-001_a']])).map((x) => x.version), ['002_b', '003_c']);
  assert.deepEqual(pendingMigrations(all, new Map(all.map((x) => [x.version, x.checksum]))), []);
});

test('an applied migration whose file changed is an error', () => {
  assert.throws(() => pendingMigrations([m('001_a', 'new')], new Map([['001_a', 'old']])), /migrations\/001_a.sql: changed after it was applied/);
});

test('the bundled migrations read and order cleanly', async () => {
  const list = await readMigrations();
  assert.deepEqual(list.map((x) => x.file), ['001_create_items.sql', '002_items_name_index.sql', '003_create_jobs_done.sql']);
  assert.ok(list.every((x) => /^[0-9a-f]{64}$/.test(x.checksum)));
});

test('retryTransient: retries connection errors a bounded number of times, not other errors', async () => {
  const { retryTransient } = await import('../src/migrate.js');
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.2:5432'), { code: 'ECONNREFUSED' });
  let calls = 0;
  const retries = /** @type {number[]} */ ([]);
  const value = await retryTransient(
    async () => {
      if (++calls < 3) throw refused;
      return 'connected';
    },
    { delayMs: 0, onRetry: (_e, n) => retries.push(n) },
  );
  assert.equal(value, 'connected');
  assert.deepEqual(retries, [1, 2]);

  calls = 0;
  await assert.rejects(retryTransient(async () => { calls++; throw refused; }, { attempts: 4, delayMs: 0 }), /ECONNREFUSED/);
  assert.equal(calls, 4);

  calls = 0;
  const auth = Object.assign(new Error('password authentication failed for user "api"'), { code: '28P01' });
  await assert.rejects(retryTransient(async () => { calls++; throw auth; }, { delayMs: 0 }), /password authentication failed/);
  assert.equal(calls, 1);
});
