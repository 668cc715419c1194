// End to end: what operations rely on (health, version, metrics), through the proxy.
import assert from 'node:assert/strict';
import test from 'node:test';
import { call } from './support.js';

test('/health: 200 with the database and the cache up', async () => {
  const r = await call('/health');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.ok(r.body.database, 'reports the database');
  assert.ok(r.body.cache, 'reports the cache');
});

test('/version: the release under test (PIER_VERSION when pier runs the suite)', async () => {
  const r = await call('/version');
  assert.equal(r.status, 200);
  if (process.env.PIER_VERSION) assert.equal(r.body.version, process.env.PIER_VERSION);
});

test('/metrics: Prometheus text with the request counter', async () => {
  await call('/items?limit=1');
  const r = await call('/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.body), /^# HELP http_requests_total /m);
  assert.match(String(r.body), /http_requests_total\{[^}]*route="\/items"/);
});
