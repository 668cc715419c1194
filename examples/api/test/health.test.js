import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHealth, probe } from '../src/health.js';

const ok = async () => {};

test('probe: ok, an error message, or a timeout', async () => {
  assert.equal(await probe(ok, 100), 'ok');
  assert.equal(await probe(async () => { throw new Error('ECONNREFUSED'); }, 100), 'ECONNREFUSED');
  assert.equal(await probe(() => Promise.reject('plain string'), 100), 'plain string');
  const t0 = Date.now();
  assert.equal(await probe(() => new Promise(() => {}), 50), 'no answer within 50 ms');
  assert.ok(Date.now() - t0 < 500);
});

test('checkHealth: status and HTTP status from both checks', async () => {
  const fail = async () => { throw new Error('down'); };
  assert.deepEqual(await checkHealth({ database: ok, cache: ok }, { version: '1' }), {
    httpStatus: 200,
    body: { status: 'ok', version: '1', database: 'ok', cache: 'ok' },
  });
  assert.deepEqual(await checkHealth({ database: ok, cache: fail }, { version: '1' }), {
    httpStatus: 503,
    body: { status: 'degraded', version: '1', database: 'ok', cache: 'down' },
  });
  assert.deepEqual(await checkHealth({ database: fail, cache: fail }, { version: '1' }), {
    httpStatus: 503,
    body: { status: 'degraded', version: '1', database: 'down', cache: 'down' },
  });
  assert.equal((await checkHealth({ database: ok, cache: ok }, { version: '1', shuttingDown: true })).httpStatus, 503);
});

test('checks run in parallel: two slow ones take one timeout, not two', async () => {
  const hang = () => new Promise(() => {});
  const t0 = Date.now();
  const { body } = await checkHealth({ database: hang, cache: hang }, { version: '1', timeoutMs: 200 });
  const took = Date.now() - t0;
  assert.equal(body.database, 'no answer within 200 ms');
  assert.ok(took < 390, `took ${took} ms`);
});
