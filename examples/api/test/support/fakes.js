// In-memory stand-ins for the app's dependencies, used by the unit tests.
import { createMetrics } from '../../src/metrics.js';
import { createLogger } from '../../src/log.js';

/** An ItemStore over a Map, with an on/off switch for the database being "down". */
export function fakeItems() {
  /** @type {Map<number, any>} */
  const rows = new Map();
  let next = 1;
  const self = {
    down: false,
    rows,
    check() {
      if (self.down) throw new Error('connect ECONNREFUSED 10.0.0.2:5432');
    },
    async list(/** @type {number} */ limit) {
      self.check();
      return [...rows.values()].slice(0, limit);
    },
    async get(/** @type {number} */ id) {
      self.check();
      return rows.get(id);
    },
    async create(/** @type {any} */ input) {
      self.check();
      const now = new Date(0).toISOString();
      const item = { id: next++, ...input, createdAt: now, updatedAt: now };
      rows.set(item.id, item);
      return item;
    },
    async update(/** @type {number} */ id, /** @type {any} */ patch) {
      self.check();
      const item = rows.get(id);
      if (!item) return undefined;
      Object.assign(item, patch);
      return item;
    },
    async remove(/** @type {number} */ id) {
      self.check();
      return rows.delete(id);
    },
    async ping() {
      self.check();
    },
  };
  return self;
}

/** A Cache over a Map; `down` makes every call fail, `hang` makes ping never answer. */
export function fakeCache() {
  /** @type {Map<string, unknown>} */
  const data = new Map();
  const self = {
    down: false,
    hang: false,
    data,
    check() {
      if (self.down) throw new Error('not connected (reconnecting)');
    },
    async getJson(/** @type {string} */ key) {
      self.check();
      return data.get(key);
    },
    async setJson(/** @type {string} */ key, /** @type {unknown} */ value) {
      self.check();
      data.set(key, value);
    },
    async del(/** @type {string} */ key) {
      self.check();
      data.delete(key);
    },
    async ping() {
      if (self.hang) return new Promise(() => {});
      self.check();
    },
  };
  return self;
}

/** App dependencies with fakes; override any field. */
export function fakeDeps(/** @type {Record<string, any>} */ over = {}) {
  const lines = /** @type {any[]} */ ([]);
  return {
    config: { version: '9.9.9-test', failRate: 0, delayMs: 0, ...(over.config ?? {}) },
    items: over.items ?? fakeItems(),
    cache: over.cache ?? fakeCache(),
    metrics: createMetrics({ defaultMetrics: false }),
    logger: createLogger('debug', { write: (/** @type {string} */ l) => lines.push(JSON.parse(l)) }),
    logLines: lines,
    state: { shuttingDown: false, inFlight: 0 },
    random: over.random,
    healthTimeoutMs: over.healthTimeoutMs ?? 200,
  };
}
