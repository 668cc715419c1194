// Environment -> validated settings. Pure: the caller passes the environment, so tests need no
// process-wide state, and a malformed value fails start-up with the variable's name.

/** Raised for a malformed setting; `variable` names the environment variable at fault. */
export class ConfigError extends Error {
  /** @param {string} variable @param {string} message */
  constructor(variable, message) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

const LOG_LEVELS = /** @type {const} */ (['debug', 'info', 'warn', 'error', 'silent']);

/**
 * @typedef {object} Config
 * @property {number} port
 * @property {string} databaseUrl
 * @property {string} redisUrl
 * @property {string} version
 * @property {number} failRate        share (0..1) of non-health requests answered 500
 * @property {number} delayMs         extra latency added to non-health requests (latency injection)
 * @property {number} shutdownTimeoutMs
 * @property {'debug'|'info'|'warn'|'error'|'silent'} logLevel
 * @property {boolean} migrateOnStart
 */

/**
 * Read and validate the app's settings.
 * @param {Record<string, string | undefined>} env  usually process.env
 * @param {string} defaultVersion  the package.json version, used when APP_VERSION is unset
 * @returns {Config}
 * @example parseConfig({ PORT: '8080', FAIL_RATE: '0.1' }, '1.0.0').failRate === 0.1
 */
export function parseConfig(env, defaultVersion) {
  return {
    port: integer(env, 'PORT', 3000, 1, 65535),
    databaseUrl: databaseUrl(env),
    redisUrl: required('REDIS_URL', url(env, 'REDIS_URL', ['redis:', 'rediss:'])),
    version: nonEmpty(env, 'APP_VERSION') ?? defaultVersion,
    failRate: rate(env, 'FAIL_RATE'),
    delayMs: integer(env, 'DELAY_MS', 0, 0, 60_000),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    migrateOnStart: flag(env, 'MIGRATE_ON_START'),
  };
}

/**
 * DATABASE_URL alone (what `migrate` needs), validated the same way as in parseConfig.
 * @param {Record<string, string | undefined>} env
 * @returns {string}
 */
export function databaseUrl(env) {
  return required('DATABASE_URL', url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']));
}

/** @param {string} name @param {string | undefined} value @returns {string} */
function required(name, value) {
  if (value === undefined) throw new ConfigError(name, 'required but not set');
  return value;
}

/** @param {Record<string, string | undefined>} env @param {string} name */
function nonEmpty(env, name) {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** @param {Record<string, string | undefined>} env @param {string} name @param {number} dflt @param {number} min @param {number} max */
function integer(env, name, dflt, min, max) {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** @param {Record<string, string | undefined>} env @param {string} name */
function rate(env, name) {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw) || n > 1) {
    throw new ConfigError(name, `expected a number from 0 to 1 (share of requests), got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** @param {Record<string, string | undefined>} env @param {string} name @param {string[]} protocols */
function url(env, name, protocols) {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let parsed;
  try {
    parsed = new URL(raw);
  } catch {
    // Never echo the value: a connection URL usually holds a password.
    throw new ConfigError(name, `expected a URL like ${protocols[0]}//host:port/..., got something that does not parse as a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got a ${parsed.protocol} URL`);
  }
  return raw;
}

/**
 * @template {string} T
 * @param {Record<string, string | undefined>} env @param {string} name @param {readonly T[]} allowed @param {T} dflt
 * @returns {T}
 */
function oneOf(env, name, allowed, dflt) {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined) return dflt;
  if (!allowed.includes(/** @type {T} */ (raw))) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return /** @type {T} */ (raw);
}

/** @param {Record<string, string | undefined>} env @param {string} name */
function flag(env, name) {
  const raw = nonEmpty(env, name)?.toLowerCase();
  if (raw === undefined || ['0', 'false', 'no'].includes(raw)) return false;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  throw new ConfigError(name, `expected 1/true/yes or 0/false/no, got ${JSON.stringify(raw)}`);
}
