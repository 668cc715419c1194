// A read retried when its connection was ended under it (PostgreSQL restarted, a failover,
// `pier db restore` swapping the restored database in): what a pooled app needs so that
// ending its sessions costs no request. Writes are never retried here: a write whose connection
// died may already have committed, and only the application knows whether running it twice is safe.

/** PostgreSQL's codes for "this session was ended" or "no database to connect to just now". */
const UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown: terminating connection due to administrator command
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting or shutting down
  '55000', // database "x" is not currently accepting connections (during a swap)
  '3D000', // database "x" does not exist; "It seems to have just been dropped or renamed"
]);

/**
 * Whether `err` means the connection was ended or could not be made for now (retrying may help).
 * @param {unknown} err
 */
export function isUnavailable(err) {
  const e = /** @type {{ code?: string, message?: string }} */ (err ?? {});
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (e.code === 'ECONNRESET' || e.code === 'ECONNREFUSED' || e.code === 'EPIPE') return true;
  return /Connection terminated/i.test(e.message ?? '');
}

/** A statement that only reads (so running it again is harmless). @param {string} text */
export const isRead = (text) => /^\s*(SELECT|WITH\s+(?![\s\S]*\b(INSERT|UPDATE|DELETE|MERGE)\b))/i.test(text);

/**
 * Wrap a pg Pool (anything with `query`): a read that fails because its connection was ended (or
 * could not be made) is run again on a new connection, every `stepMs` while the database is still
 * unavailable (a restore's swap refuses connections for tens of milliseconds), for at most
 * `budgetMs`; then the last error. Any other error is returned at once.
 * @template {{ query: (text: string, values?: unknown[]) => Promise<any> }} Q
 * @param {Q} pool
 * @param {{ budgetMs?: number, stepMs?: number, onRetry?: (err: Error) => void, sleep?: (ms: number) => Promise<void>, now?: () => number }} [o]
 * @returns {{ query: (text: string, values?: unknown[]) => Promise<any> }}
 */
export function retryReads(pool, o = {}) {
  const budgetMs = o.budgetMs ?? 1000;
  const stepMs = o.stepMs ?? 50;
  const sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  return {
    async query(text, values) {
      try {
        return await pool.query(text, values);
      } catch (err) {
        if (!isRead(text) || !isUnavailable(err)) throw err;
        o.onRetry?.(/** @type {Error} */ (err));
        const deadline = now() + budgetMs;
        for (;;) {
          try {
            return await pool.query(text, values);
          } catch (again) {
            if (!isUnavailable(again) || now() + stepMs > deadline) throw again;
            await sleep(stepMs);
          }
        }
      }
    },
  };
}
