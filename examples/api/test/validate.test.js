import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError, parseJsonBody, validateId, validateItemPatch, validateLimit, validateNewItem } from '../src/validate.js';

/** @param {() => unknown} fn @param {string} field @param {RegExp} message */
function rejects(fn, field, message) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.field, field);
    assert.match(err.message, message);
    return true;
  });
}

test('a new item: name trimmed, quantity defaults to 0', () => {
  assert.deepEqual(validateNewItem({ name: '  bolts ' }), { name: 'bolts', quantity: 0 });
  assert.deepEqual(validateNewItem({ name: 'nuts', quantity: 12 }), { name: 'nuts', quantity: 12 });
});

test('a new item: each bad field is named', () => {
  rejects(() => validateNewItem({}), 'name', /is required/);
  rejects(() => validateNewItem({ name: '' }), 'name', /1 to 100 characters, got 0 characters/);
  rejects(() => validateNewItem({ name: 'x'.repeat(101) }), 'name', /got 101 characters/);
  rejects(() => validateNewItem({ name: 7 }), 'name', /got a number/);
  rejects(() => validateNewItem({ name: 'a', quantity: -1 }), 'quantity', /integer from 0/);
  rejects(() => validateNewItem({ name: 'a', quantity: 1.5 }), 'quantity', /got 1.5/);
  rejects(() => validateNewItem({ name: 'a', quantity: '3' }), 'quantity', /got a string/);
  rejects(() => validateNewItem({ name: 'a', colour: 'red' }), 'colour', /unknown field/);
  rejects(() => validateNewItem([1]), 'body', /got an array/);
  rejects(() => validateNewItem(null), 'body', /got null/);
});

test('a patch needs at least one field', () => {
  assert.deepEqual(validateItemPatch({ quantity: 3 }), { quantity: 3 });
  assert.deepEqual(validateItemPatch({ name: 'b', quantity: 0 }), { name: 'b', quantity: 0 });
  rejects(() => validateItemPatch({}), 'body', /at least one of name, quantity/);
  rejects(() => validateItemPatch({ name: '   ' }), 'name', /got 0 characters/);
});

test('ids and limits', () => {
  assert.equal(validateId('42'), 42);
  for (const bad of ['0', '-1', 'abc', '1.5', '01', '99999999999999999']) rejects(() => validateId(bad), 'id', /positive integer/);
  assert.equal(validateLimit(null), 100);
  assert.equal(validateLimit('5'), 5);
  for (const bad of ['0', '1001', 'x']) rejects(() => validateLimit(bad), 'limit', /1 to 1000/);
});

test('bodies that are not JSON', () => {
  assert.deepEqual(parseJsonBody('{"a":1}'), { a: 1 });
  rejects(() => parseJsonBody(''), 'body', /empty body/);
  rejects(() => parseJsonBody('{nope'), 'body', /invalid JSON/);
});
