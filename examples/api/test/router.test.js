import { test } from 'node:test';
import assert from 'node:assert/strict';
import { match } from '../src/router.js';

const routes = [
  { method: 'GET', pattern: '/items', handler: 'list' },
  { method: 'POST', pattern: '/items', handler: 'create' },
  { method: 'GET', pattern: '/items/:id', handler: 'get' },
  { method: 'DELETE', pattern: '/items/:id', handler: 'delete' },
];

test('literal and parameter routes', () => {
  assert.deepEqual(match(routes, 'GET', '/items'), { kind: 'found', route: '/items', params: {}, handler: 'list' });
  assert.deepEqual(match(routes, 'POST', '/items/'), { kind: 'found', route: '/items', params: {}, handler: 'create' });
  assert.deepEqual(match(routes, 'GET', '/items/7'), { kind: 'found', route: '/items/:id', params: { id: '7' }, handler: 'get' });
  assert.deepEqual(match(routes, 'GET', '/items/a%20b'), { kind: 'found', route: '/items/:id', params: { id: 'a b' }, handler: 'get' });
});

test('a known path with another method is 405 with the allowed ones', () => {
  assert.deepEqual(match(routes, 'PATCH', '/items/7'), { kind: 'method-not-allowed', route: '/items/:id', allow: ['GET', 'DELETE'] });
});

test('unknown paths and malformed escapes are not found', () => {
  assert.deepEqual(match(routes, 'GET', '/nope'), { kind: 'not-found' });
  assert.deepEqual(match(routes, 'GET', '/items/7/extra'), { kind: 'not-found' });
  assert.deepEqual(match(routes, 'GET', '/items/%E0%A4%A'), { kind: 'not-found' });
});
