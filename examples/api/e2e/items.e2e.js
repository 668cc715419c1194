// End to end through the environment's proxy: the items API against the real database and cache.
import assert from 'node:assert/strict';
import test from 'node:test';
import { call } from './support.js';

const name = `e2e-${process.pid}-${Date.now()}`;

test('create, read, update, list and delete an item', async () => {
  const created = await call('/items', { method: 'POST', body: JSON.stringify({ name, quantity: 2 }) });
  assert.equal(created.status, 201);
  assert.equal(created.body.name, name);
  const id = created.body.id;
  assert.ok(Number.isInteger(id));

  const read = await call(`/items/${id}`);
  assert.equal(read.status, 200);
  assert.deepEqual({ name: read.body.name, quantity: read.body.quantity }, { name, quantity: 2 });

  const updated = await call(`/items/${id}`, { method: 'PUT', body: JSON.stringify({ quantity: 5 }) });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.quantity, 5);
  // Read back after the update: the cache must not serve the old value.
  assert.equal((await call(`/items/${id}`)).body.quantity, 5);

  const list = await call('/items?limit=1000');
  assert.equal(list.status, 200);
  assert.ok(list.body.some((i) => i.id === id), 'the new item is listed');

  assert.equal((await call(`/items/${id}`, { method: 'DELETE' })).status, 204);
  assert.equal((await call(`/items/${id}`)).status, 404);
});

test('bad input is a 400 naming the field', async () => {
  const r = await call('/items', { method: 'POST', body: JSON.stringify({ quantity: -1 }) });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'name');
  assert.equal((await call('/items/abc')).status, 400);
});
