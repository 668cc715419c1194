// The worker's logic over injected queue and store, so it is testable without Redis or PostgreSQL.
// A job moves atomically from the queue to this worker's own processing list (BLMOVE), is
// recorded, then leaves the processing list: a stop request is honoured between jobs, never in
// the middle of one, so a drained worker neither loses nor repeats a job.

/** Heartbeat file the health command reads. */
export const HEARTBEAT_FILE = '/tmp/pier-worker-heartbeat';
/** A heartbeat older than this is unhealthy (the loop beats at least once a second). */
export const HEARTBEAT_MAX_AGE_MS = 5000;

/**
 * @param {number} now @param {number | undefined} beat  last heartbeat (ms since epoch)
 * @returns {boolean}
 */
export function heartbeatFresh(now, beat) {
  return beat !== undefined && Number.isFinite(beat) && now - beat <= HEARTBEAT_MAX_AGE_MS;
}

/** Attempts at recording one job (500 ms apart) before the worker gives up and exits non-zero. */
export const RECORD_ATTEMPTS = 60;
const RECORD_RETRY_MS = 500;

/**
 * @typedef {object} Queue
 * @property {(timeoutS: number) => Promise<string | null>} take     move one job to processing (null: none within the timeout)
 * @property {(job: string) => Promise<void>} ack                    remove it from processing
 * @typedef {{ record(job: string): Promise<void> }} Store
 */

/**
 * Take, record and acknowledge jobs until `stopping()` says so (checked between jobs).
 * @param {{ queue: Queue, store: Store, stopping: () => boolean, beat: () => void, workMs?: number, sleep?: (ms: number) => Promise<void>, onRetry?: (err: unknown, attempt: number) => void }} deps
 * @returns {Promise<number>} jobs done
 */
export async function runWorker({ queue, store, stopping, beat, workMs = 0, sleep = (ms) => new Promise((r) => setTimeout(r, ms)), onRetry = () => undefined }) {
  let done = 0;
  while (!stopping()) {
    beat();
    const job = await queue.take(1);
    if (job === null) continue;
    if (workMs) await sleep(workMs);
    // A database that refuses for a moment (a restart, a restore's swap) is retried: the job
    // stays in this worker's processing list until it is recorded, never dropped.
    for (let attempt = 1; ; attempt++) {
      try {
        await store.record(job);
        break;
      } catch (err) {
        if (attempt >= RECORD_ATTEMPTS) throw err;
        onRetry(err, attempt);
        await sleep(RECORD_RETRY_MS);
      }
    }
    await queue.ack(job);
    done++;
  }
  return done;
}
