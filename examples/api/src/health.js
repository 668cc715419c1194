// Dependency checks for GET /health, each bounded in time so a dead dependency answers fast.

/**
 * @typedef {{ status: 'ok' | 'degraded' | 'shutting down', version: string, database: string, cache: string }} Health
 */

/**
 * Run one check, turning a throw or a timeout into an error string.
 * @param {() => Promise<unknown>} check
 * @param {number} timeoutMs
 * @returns {Promise<string>} 'ok' or the error
 */
export async function probe(check, timeoutMs) {
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return msg || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Check the database and the cache in parallel.
 * @param {{ database: () => Promise<unknown>, cache: () => Promise<unknown> }} checks
 * @param {{ version: string, timeoutMs?: number, shuttingDown?: boolean }} opts
 * @returns {Promise<{ httpStatus: 200 | 503, body: Health }>}
 */
export async function checkHealth(checks, { version, timeoutMs = 800, shuttingDown = false }) {
  const [database, cache] = await Promise.all([probe(checks.database, timeoutMs), probe(checks.cache, timeoutMs)]);
  const healthy = database === 'ok' && cache === 'ok';
  /** @type {Health['status']} */
  const status = shuttingDown ? 'shutting down' : healthy ? 'ok' : 'degraded';
  return { httpStatus: status === 'ok' ? 200 : 503, body: { status, version, database, cache } };
}
