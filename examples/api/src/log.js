// One JSON object per line on stdout: what `docker logs` and any log shipper expect.

const RANK = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * @typedef {(msg: string, fields?: Record<string, unknown>) => void} LogFn
 * @typedef {{ debug: LogFn, info: LogFn, warn: LogFn, error: LogFn }} Logger
 */

/**
 * A leveled JSON-lines logger. Callers pass fields, never connection URLs or other secrets.
 * @param {keyof typeof RANK} level  lowest level written
 * @param {{ write(line: string): unknown }} [out]
 * @param {() => Date} [now]
 * @returns {Logger}
 */
export function createLogger(level, out = process.stdout, now = () => new Date()) {
  const min = RANK[level];
  /** @param {'debug'|'info'|'warn'|'error'} lvl @returns {LogFn} */
  const at = (lvl) => (msg, fields = {}) => {
    if (RANK[lvl] < min) return;
    out.write(`${JSON.stringify({ time: now().toISOString(), level: lvl, msg, ...fields })}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
