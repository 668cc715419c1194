// Against real PostgreSQL and Redis: run where DATABASE_URL and REDIS_URL are set (the pipeline's
// test stage gives postgres:5432 and redis:6379 sidecars); skipped with the reason otherwise.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import pg from 'pg';
import { Redis } from 'ioredis';
import { migrate, readMigrations } from '../src/migrate.js';
import { createItemStore } from '../src/items.js';
import { createCache } from '../src/cache.js';
import { createApp } from '../src/app.js';
import { createMetrics } from '../src/metrics.js';
import { createLogger } from '../src/log.js';

const { DATABASE_URL, REDIS_URL } = process.env;
const skip = DATABASE_URL && REDIS_URL ? false : 'DATABASE_URL and REDIS_URL are not both set: database and cache tests skipped';

describe('with PostgreSQL and Redis', () => {
  /** @type {pg.Pool} */
  let pool;
  /** @type {Redis} */
  let redis;

  before(async () => {
    if (skip) return;
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4, connectionTimeoutMillis: 5000 });
    redis = new Redis(/** @type {string} */ (REDIS_URL), { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    // The tests run the migrations themselves, twice at once: the advisory lock serialises them.
    const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
    try {
      const results = await Promise.all([migrate(a), migrate(b)]);
      const applied = results.flatMap((r) => r.applied);
      assert.equal(new Set(applied).size, applied.length, `a migration was applied twice: ${applied}`);
    } finally {
      a.release();
      b.release();
    }
  });

  after(async () => {
    await pool?.end();
    redis?.disconnect();
  });

  test('migrations are recorded and idempotent', { skip }, async () => {
    const { rows } = await pool.query('SELECT version FROM schema_migrations ORDER BY version');
    const expected = (await readMigrations()).map((m) => m.version);
    assert.deepEqual(rows.map((r) => r.version), expected);
    const client = await pool.connect();
    try {
      assert.deepEqual(await migrate(client), { applied: [], alreadyApplied: expected.length });
    } finally {
      client.release();
    }
  });

  test('item store CRUD on PostgreSQL', { skip }, async () => {
    const items = createItemStore(pool);
    const created = await items.create({ name: 'db-test widget', quantity: 4 });
    assert.equal(typeof created.id, 'number');
    assert.deepEqual(await items.get(created.id), created);
    const updated = await items.update(created.id, { quantity: 5 });
    assert.equal(updated?.quantity, 5);
    assert.equal(updated?.name, 'db-test widget');
    assert.ok((await items.list(1000)).some((i) => i.id === created.id));
    assert.equal(await items.remove(created.id), true);
    assert.equal(await items.get(created.id), undefined);
    assert.equal(await items.update(created.id, { quantity: 1 }), undefined);
  });

  test('the schema enforces the same rules as the validator', { skip }, async () => {
    await assert.rejects(pool.query("INSERT INTO items (name, quantity) VALUES ('', 1)"), /check constraint/);
    await assert.rejects(pool.query("INSERT INTO items (name, quantity) VALUES ('x', -1)"), /check constraint/);
  });

  test('cache on Redis: set, get, expire, delete, ping', { skip }, async () => {
    const cache = createCache(redis);
    const key = `db-test:${process.pid}`;
    await cache.setJson(key, { a: [1, 2] }, 5);
    assert.deepEqual(await cache.getJson(key), { a: [1, 2] });
    assert.ok((await redis.ttl(key)) > 0);
    await cache.del(key);
    assert.equal(await cache.getJson(key), undefined);
    await cache.ping();
  });

  test('the app over real dependencies: create, list, health', { skip }, async () => {
    const state = { shuttingDown: false, inFlight: 0 };
    const handler = createApp({
      config: { version: 'db-test', failRate: 0, delayMs: 0 },
      items: createItemStore(pool),
      cache: createCache(redis),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger('silent'),
      state,
    });
    const server = createServer(handler);
    await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
    const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
    try {
      const created = await fetch(`${base}/items`, { method: 'POST', body: JSON.stringify({ name: 'via http' }) });
      assert.equal(created.status, 201);
      const item = await created.json();
      const list = await (await fetch(`${base}/items?limit=1000`)).json();
      assert.ok(list.some((/** @type {any} */ i) => i.id === item.id));
      const health = await fetch(`${base}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', version: 'db-test', database: 'ok', cache: 'ok' });
      assert.equal((await fetch(`${base}/items/${item.id}`, { method: 'DELETE' })).status, 204);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
