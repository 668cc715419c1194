// Input validation for the items resource. Pure functions: each returns the cleaned value or
// throws a ValidationError naming the offending field, which the app answers with 400.

/** A client error in the request; `field` names what was wrong. */
export class ValidationError extends Error {
  /** @param {string} field @param {string} message */
  constructor(field, message) {
    super(`${field}: ${message}`);
    this.name = 'ValidationError';
    this.field = field;
  }
}

const MAX_QUANTITY = 2_147_483_647; // PostgreSQL INTEGER

/**
 * @typedef {{ name: string, quantity: number }} ItemInput
 * @typedef {{ name?: string, quantity?: number }} ItemPatch
 */

/**
 * Validate the body of `POST /items`: `{ name: string 1..100, quantity?: integer >= 0 }`.
 * @param {unknown} body  parsed JSON
 * @returns {ItemInput}
 */
export function validateNewItem(body) {
  const obj = object(body);
  if (obj.name === undefined) throw new ValidationError('name', 'is required (a string of 1 to 100 characters)');
  return { name: name(obj.name), quantity: obj.quantity === undefined ? 0 : quantity(obj.quantity) };
}

/**
 * Validate the body of `PUT /items/:id`: the same fields, each optional, at least one present.
 * @param {unknown} body
 * @returns {ItemPatch}
 */
export function validateItemPatch(body) {
  const obj = object(body);
  /** @type {ItemPatch} */
  const patch = {};
  if (obj.name !== undefined) patch.name = name(obj.name);
  if (obj.quantity !== undefined) patch.quantity = quantity(obj.quantity);
  if (Object.keys(patch).length === 0) throw new ValidationError('body', 'expected at least one of name, quantity');
  return patch;
}

/**
 * Validate an `:id` path parameter: a positive integer.
 * @param {string} raw
 * @returns {number}
 */
export function validateId(raw) {
  if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ValidationError('id', `expected a positive integer, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return Number(raw);
}

/**
 * Validate the `limit` query parameter of `GET /items` (1..1000, default 100).
 * @param {string | null} raw
 * @returns {number}
 */
export function validateLimit(raw) {
  if (raw === null) return 100;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000) {
    throw new ValidationError('limit', `expected an integer from 1 to 1000, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return Number(raw);
}

/**
 * Parse a request body as JSON, naming the problem when it is not.
 * @param {string} text
 * @returns {unknown}
 */
export function parseJsonBody(text) {
  if (text.trim() === '') throw new ValidationError('body', 'expected a JSON object, got an empty body');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError('body', `expected a JSON object, got invalid JSON (${/** @type {Error} */ (err).message})`);
  }
}

/** @param {unknown} body @returns {Record<string, unknown>} */
function object(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('body', `expected a JSON object, got ${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}`);
  }
  const obj = /** @type {Record<string, unknown>} */ (body);
  const unknown = Object.keys(obj).find((k) => k !== 'name' && k !== 'quantity');
  if (unknown !== undefined) throw new ValidationError(unknown, 'unknown field (allowed: name, quantity)');
  return obj;
}

/** @param {unknown} v @returns {string} */
function name(v) {
  if (typeof v !== 'string') throw new ValidationError('name', `expected a string of 1 to 100 characters, got ${typeOf(v)}`);
  const trimmed = v.trim();
  if (trimmed.length < 1 || trimmed.length > 100) {
    throw new ValidationError('name', `expected a string of 1 to 100 characters, got ${trimmed.length} characters`);
  }
  return trimmed;
}

/** @param {unknown} v @returns {number} */
function quantity(v) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_QUANTITY) {
    throw new ValidationError('quantity', `expected an integer from 0 to ${MAX_QUANTITY}, got ${typeof v === 'number' ? v : typeOf(v)}`);
  }
  return v;
}

/** @param {unknown} v */
function typeOf(v) {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}
