// The request handler end to end over a real HTTP server on 127.0.0.1, with in-memory fakes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createApp } from '../src/app.js';
import { createMetrics } from '../src/metrics.js';
import { fakeCache, fakeDeps, fakeItems } from './support/fakes.js';

/** Start the app on a random port; returns a fetch helper and the deps. */
async function start(/** @type {Record<string, any>} */ over = {}) {
  const deps = fakeDeps(over);
  const server = createServer(createApp(deps));
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  /** @param {string} path @param {RequestInit & { json?: unknown }} [init] */
  const call = async (path, init = {}) => {
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    const headers = { 'content-type': 'application/json', .../** @type {Record<string, string>} */ (init.headers ?? {}) };
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, body, headers });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
  };
  return { deps, call, close: () => new Promise((r) => server.close(r)) };
}

/** @type {Awaited<ReturnType<typeof start>>} */
let app;
before(async () => {
  app = await start();
});
after(() => app.close());

test('CRUD: create, read, list, update, delete', async () => {
  const created = await app.call('/items', { method: 'POST', json: { name: 'bolts', quantity: 3 } });
  assert.equal(created.status, 201);
  assert.equal(created.body.name, 'bolts');
  assert.equal(created.body.quantity, 3);
  const id = created.body.id;

  assert.deepEqual((await app.call(`/items/${id}`)).body, created.body);
  const list = await app.call('/items');
  assert.equal(list.status, 200);
  assert.ok(list.body.some((/** @type {any} */ i) => i.id === id));

  const updated = await app.call(`/items/${id}`, { method: 'PUT', json: { quantity: 9 } });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.quantity, 9);
  assert.equal(updated.body.name, 'bolts');

  const deleted = await app.call(`/items/${id}`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  assert.equal(deleted.text, '');
  assert.equal((await app.call(`/items/${id}`)).status, 404);
  assert.equal((await app.call(`/items/${id}`, { method: 'DELETE' })).status, 404);
});

test('the list is served from the cache and writes invalidate it', async () => {
  const { call, close, deps } = await start();
  try {
    await call('/items', { method: 'POST', json: { name: 'a' } });
    assert.equal((await call('/items')).body.length, 1);
    assert.ok(deps.cache.data.has('items:list:v1'), 'list cached');
    deps.items.rows.clear(); // behind the cache's back: a cached read still sees one item
    assert.equal((await call('/items')).body.length, 1);
    await call('/items', { method: 'POST', json: { name: 'b' } });
    assert.equal(deps.cache.data.has('items:list:v1'), false, 'write invalidated the cache');
    assert.equal((await call('/items')).body.length, 1);
  } finally {
    await close();
  }
});

test('a down cache does not break item requests', async () => {
  const cache = fakeCache();
  cache.down = true;
  const { call, close } = await start({ cache });
  try {
    assert.equal((await call('/items', { method: 'POST', json: { name: 'x' } })).status, 201);
    const list = await call('/items');
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 1);
  } finally {
    await close();
  }
});

test('bad input is 400 naming the field', async () => {
  const cases = [
    [{ method: 'POST', json: { quantity: 1 } }, 'name', /name: is required/],
    [{ method: 'POST', json: { name: 'a', quantity: -2 } }, 'quantity', /quantity: expected an integer from 0/],
    [{ method: 'POST', body: '{broken' }, 'body', /invalid JSON/],
  ];
  for (const [init, field, message] of cases) {
    const res = await app.call('/items', /** @type {any} */ (init));
    assert.equal(res.status, 400);
    assert.equal(res.body.field, field);
    assert.match(res.body.error, /** @type {RegExp} */ (message));
  }
  const badId = await app.call('/items/abc');
  assert.equal(badId.status, 400);
  assert.match(badId.body.error, /^id: expected a positive integer/);
  const badPut = await app.call('/items/1', { method: 'PUT', json: {} });
  assert.equal(badPut.status, 400);
  assert.equal((await app.call('/items?limit=0')).status, 400);
});

test('oversized bodies are 413', async () => {
  const res = await app.call('/items', { method: 'POST', body: JSON.stringify({ name: 'x'.repeat(70_000) }) });
  assert.equal(res.status, 413);
});

test('unknown routes are 404, wrong methods 405 with Allow', async () => {
  const missing = await app.call('/nope');
  assert.equal(missing.status, 404);
  assert.match(missing.body.error, /no route for GET \/nope/);
  const wrong = await app.call('/items', { method: 'PATCH' });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get('allow'), 'GET, POST');
});

test('a database error is a 500 with a generic message, details only in the log', async () => {
  const items = fakeItems();
  items.down = true;
  const { call, close, deps } = await start({ items });
  try {
    const res = await call('/items/1');
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: 'internal error' });
    assert.ok(deps.logLines.some((l) => l.msg === 'request failed' && /ECONNREFUSED/.test(l.error)));
  } finally {
    await close();
  }
});

test('/version answers the configured version', async () => {
  assert.deepEqual((await app.call('/version')).body, { version: '9.9.9-test' });
});

test('FAIL_RATE fails that share of item requests, never /health, /version or /metrics', async () => {
  let n = 0;
  const random = () => (n++ % 4) / 4; // 0, .25, .5, .75: with rate .5, exactly half are below
  const { call, close } = await start({ config: { failRate: 0.5 }, random });
  try {
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await call('/items')).status);
    assert.deepEqual(statuses, [500, 500, 200, 200, 500, 500, 200, 200]);
    const failed = await call('/items');
    assert.match(failed.body.error, /injected failure \(FAIL_RATE=0.5\)/);
    for (let i = 0; i < 4; i++) {
      assert.equal((await call('/health')).status, 200);
      assert.equal((await call('/version')).status, 200);
      assert.equal((await call('/metrics')).status, 200);
    }
  } finally {
    await close();
  }
});

test('FAIL_RATE=1 fails every item request', async () => {
  const { call, close } = await start({ config: { failRate: 1 } });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await call('/items')).status, 500);
  } finally {
    await close();
  }
});

test('/health: 200 when both are ok, 503 naming the failing one', async () => {
  const { call, close, deps } = await start();
  try {
    assert.deepEqual((await call('/health')).body, { status: 'ok', version: '9.9.9-test', database: 'ok', cache: 'ok' });
    deps.cache.down = true;
    const res = await call('/health');
    assert.equal(res.status, 503);
    assert.deepEqual(res.body, { status: 'degraded', version: '9.9.9-test', database: 'ok', cache: 'not connected (reconnecting)' });
    deps.cache.down = false;
    deps.items.down = true;
    const db = await call('/health');
    assert.equal(db.status, 503);
    assert.match(db.body.database, /ECONNREFUSED/);
    assert.equal(db.body.cache, 'ok');
  } finally {
    await close();
  }
});

test('/health answers in bounded time when a dependency hangs', async () => {
  const cache = fakeCache();
  cache.hang = true;
  const { call, close } = await start({ cache, healthTimeoutMs: 150 });
  try {
    const t0 = Date.now();
    const res = await call('/health');
    assert.equal(res.status, 503);
    assert.equal(res.body.cache, 'no answer within 150 ms');
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
  } finally {
    await close();
  }
});

test('/metrics counts requests by method, route and status', async () => {
  const { call, close } = await start();
  try {
    await call('/items');
    await call('/items/12345');
    await call('/nope');
    const text = (await call('/metrics')).text;
    assert.match(text, /http_requests_total\{method="GET",route="\/items",status="200"\} 1/);
    assert.match(text, /http_requests_total\{method="GET",route="\/items\/:id",status="404"\} 1/);
    assert.match(text, /http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    assert.match(text, /http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/items",status="200"\}/);
    assert.match(text, /http_requests_in_flight 1/); // the /metrics request itself
  } finally {
    await close();
  }
});

test('/metrics reports the database pool\'s connections as they are at scrape time', async () => {
  const pool = { totalCount: 7, idleCount: 5, waitingCount: 0 };
  const deps = fakeDeps();
  deps.metrics = createMetrics({ defaultMetrics: false, pool });
  const server = createServer(createApp(deps));
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  try {
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let text = await scrape();
    assert.match(text, /^db_pool_connections 7$/m);
    assert.match(text, /^db_pool_idle_connections 5$/m);
    assert.match(text, /^db_pool_waiting_clients 0$/m);
    Object.assign(pool, { totalCount: 10, idleCount: 0, waitingCount: 3 });
    text = await scrape();
    assert.match(text, /^db_pool_connections 10$/m);
    assert.match(text, /^db_pool_waiting_clients 3$/m);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('requests are logged with the caller\'s request id, which is echoed back', async () => {
  const { call, close, deps } = await start();
  try {
    const res = await call('/version', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(res.headers.get('x-request-id'), 'abc-123');
    const generated = await call('/version', { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    await new Promise((r) => setImmediate(r)); // the log line is written on the response's close
    assert.ok(deps.logLines.some((l) => l.msg === 'request' && l.id === 'abc-123' && l.route === '/version' && l.status === 200));
  } finally {
    await close();
  }
});

test('while shutting down, responses carry Connection: close and /health is 503', async () => {
  const { call, close, deps } = await start();
  try {
    deps.state.shuttingDown = true;
    const version = await call('/version');
    assert.equal(version.status, 200);
    assert.equal(version.headers.get('connection'), 'close');
    const health = await call('/health');
    assert.equal(health.status, 503);
    assert.equal(health.body.status, 'shutting down');
  } finally {
    await close();
  }
});
