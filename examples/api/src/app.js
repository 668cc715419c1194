// The HTTP request handler, built from injected dependencies so tests can use fakes.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { match } from './router.js';
import { checkHealth } from './health.js';
import { ValidationError, parseJsonBody, validateId, validateItemPatch, validateLimit, validateNewItem } from './validate.js';

const MAX_BODY_BYTES = 64 * 1024;
const LIST_CACHE_KEY = 'items:list:v1';
const LIST_CACHE_TTL_SECONDS = 5;
/** Routes that failure and latency injection never touch: probes must tell the truth. */
const EXEMPT_ROUTES = new Set(['/health', '/version', '/metrics']);

/** An error that maps to an HTTP status with a JSON `{ error }` body. */
export class HttpError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * @typedef {object} AppDeps
 * @property {Pick<import('./config.js').Config, 'version' | 'failRate' | 'delayMs'>} config
 * @property {import('./items.js').ItemStore} items
 * @property {import('./cache.js').Cache} cache
 * @property {import('./metrics.js').Metrics} metrics
 * @property {import('./log.js').Logger} logger
 * @property {{ shuttingDown: boolean, inFlight: number }} state  shared with the shutdown logic
 * @property {() => number} [random]  for failure injection; Math.random by default
 * @property {number} [healthTimeoutMs]
 */

/**
 * @typedef {{ req: import('node:http').IncomingMessage, url: URL, params: Record<string, string>, deps: AppDeps }} Ctx
 * @typedef {{ status: number, body?: unknown, contentType?: string }} Reply
 * @typedef {(ctx: Ctx) => Promise<Reply>} Handler
 */

/** @type {import('./router.js').Route<Handler>[]} */
export const routes = [
  { method: 'GET', pattern: '/health', handler: health },
  { method: 'GET', pattern: '/version', handler: async ({ deps }) => ({ status: 200, body: { version: deps.config.version } }) },
  { method: 'GET', pattern: '/metrics', handler: metrics },
  { method: 'GET', pattern: '/items', handler: listItems },
  { method: 'POST', pattern: '/items', handler: createItem },
  { method: 'GET', pattern: '/items/:id', handler: getItem },
  { method: 'PUT', pattern: '/items/:id', handler: updateItem },
  { method: 'DELETE', pattern: '/items/:id', handler: deleteItem },
];

/**
 * Build the request listener for `http.createServer`.
 * @param {AppDeps} deps
 * @returns {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => Promise<void>}
 */
export function createApp(deps) {
  const random = deps.random ?? Math.random;
  return async function handle(req, res) {
    const started = process.hrtime.bigint();
    const id = requestId(req.headers['x-request-id']);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    const found = match(routes, method, url.pathname);
    const route = found.kind === 'not-found' ? 'unmatched' : found.route; // bounded label set
    deps.state.inFlight++;
    deps.metrics.inFlight.inc();
    res.setHeader('X-Request-Id', id);
    res.on('close', () => {
      deps.state.inFlight--;
      deps.metrics.inFlight.dec();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (!res.writableFinished) {
        deps.logger.warn('request aborted', { id, method, route, ms: round(ms) });
        return;
      }
      deps.metrics.observe(method, route, res.statusCode, ms / 1000);
      deps.logger.info('request', { id, method, route, status: res.statusCode, ms: round(ms) });
    });

    /** @type {Reply} */
    let reply;
    try {
      if (found.kind === 'not-found') throw new HttpError(404, `no route for ${method} ${url.pathname}`);
      if (found.kind === 'method-not-allowed') {
        res.setHeader('Allow', found.allow.join(', '));
        throw new HttpError(405, `method ${method} not allowed on ${found.route} (allowed: ${found.allow.join(', ')})`);
      }
      if (!EXEMPT_ROUTES.has(found.route)) {
        if (deps.config.delayMs > 0) await sleep(deps.config.delayMs);
        if (deps.config.failRate > 0 && random() < deps.config.failRate) {
          throw new HttpError(500, `injected failure (FAIL_RATE=${deps.config.failRate})`);
        }
      }
      reply = await found.handler({ req, url, params: found.params, deps });
    } catch (err) {
      reply = errorReply(err, deps.logger, id);
    }
    // While draining, tell keep-alive clients to reconnect elsewhere; node then closes the socket.
    if (deps.state.shuttingDown) res.setHeader('Connection', 'close');
    send(res, reply);
  };
}

/** @param {unknown} err @param {import('./log.js').Logger} logger @param {string} id @returns {Reply} */
function errorReply(err, logger, id) {
  if (err instanceof ValidationError) return { status: 400, body: { error: err.message, field: err.field } };
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message } };
  logger.error('request failed', { id, error: err instanceof Error ? err.message : String(err) });
  return { status: 500, body: { error: 'internal error' } };
}

/** @param {import('node:http').ServerResponse} res @param {Reply} reply */
function send(res, reply) {
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = reply.contentType ? String(reply.body) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': reply.contentType ?? 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Use the caller's id when it is a sane token (so logs correlate across proxies), else make one.
 * @param {string | string[] | undefined} header
 */
function requestId(header) {
  return typeof header === 'string' && /^[\w.:-]{1,64}$/.test(header) ? header : randomUUID();
}

/** @param {number} ms */
function round(ms) {
  return Math.round(ms * 10) / 10;
}

/** @param {import('node:http').IncomingMessage} req @returns {Promise<unknown>} */
async function readJson(req) {
  let size = 0;
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body: larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return parseJsonBody(Buffer.concat(chunks).toString('utf8'));
}

/** @type {Handler} */
async function health({ deps }) {
  const { httpStatus, body } = await checkHealth(
    { database: () => deps.items.ping(), cache: () => deps.cache.ping() },
    { version: deps.config.version, timeoutMs: deps.healthTimeoutMs, shuttingDown: deps.state.shuttingDown },
  );
  return { status: httpStatus, body };
}

/** @type {Handler} */
async function metrics({ deps }) {
  return { status: 200, body: await deps.metrics.registry.metrics(), contentType: deps.metrics.registry.contentType };
}

/** @type {Handler} */
async function listItems({ url, deps }) {
  const limit = validateLimit(url.searchParams.get('limit'));
  const cacheable = limit === 100;
  if (cacheable) {
    const hit = await deps.cache.getJson(LIST_CACHE_KEY).catch(() => undefined); // cache down: read through
    if (hit !== undefined) return { status: 200, body: hit };
  }
  const items = await deps.items.list(limit);
  if (cacheable) await deps.cache.setJson(LIST_CACHE_KEY, items, LIST_CACHE_TTL_SECONDS).catch(() => {});
  return { status: 200, body: items };
}

/** @type {Handler} */
async function createItem({ req, deps }) {
  const input = validateNewItem(await readJson(req));
  const item = await deps.items.create(input);
  await invalidate(deps);
  return { status: 201, body: item };
}

/** @type {Handler} */
async function getItem({ params, deps }) {
  const id = validateId(params.id ?? '');
  const item = await deps.items.get(id);
  if (!item) throw new HttpError(404, `item ${id} not found`);
  return { status: 200, body: item };
}

/** @type {Handler} */
async function updateItem({ req, params, deps }) {
  const id = validateId(params.id ?? '');
  const patch = validateItemPatch(await readJson(req));
  const item = await deps.items.update(id, patch);
  if (!item) throw new HttpError(404, `item ${id} not found`);
  await invalidate(deps);
  return { status: 200, body: item };
}

/** @type {Handler} */
async function deleteItem({ params, deps }) {
  const id = validateId(params.id ?? '');
  if (!(await deps.items.remove(id))) throw new HttpError(404, `item ${id} not found`);
  await invalidate(deps);
  return { status: 204 };
}

/**
 * Drop the cached list after a write; if Redis is down the entry expires on its own (TTL 5 s).
 * @param {AppDeps} deps
 */
async function invalidate(deps) {
  await deps.cache.del(LIST_CACHE_KEY).catch((err) => deps.logger.warn('cache invalidation failed', { error: err.message }));
}
