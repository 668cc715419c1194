// The example app's queue worker (role `worker`): takes job ids from the Redis list `jobs`,
// records each in PostgreSQL (jobs_done), and on SIGTERM finishes the job in hand and exits 0.
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import pg from 'pg';
import { Redis } from 'ioredis';
import { databaseUrl, ConfigError } from './config.js';
import { createLogger } from './log.js';
import { HEARTBEAT_FILE, runWorker } from './worker-core.js';

const logger = createLogger(/** @type {any} */ (process.env.LOG_LEVEL || 'info'));
let dbUrl;
try {
  dbUrl = databaseUrl(process.env);
  if (!process.env.REDIS_URL) throw new ConfigError('REDIS_URL', 'required but not set');
} catch (err) {
  console.error(`config error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
const queueName = process.env.WORKER_QUEUE || 'jobs';
const workMs = Number(process.env.JOB_MS || 20);
const version = process.env.APP_VERSION || 'unknown';
const me = hostname();
const processing = `${queueName}:processing:${me}`;

const pool = new pg.Pool({ connectionString: dbUrl, max: 2, connectionTimeoutMillis: 2000 });
pool.on('error', (err) => logger.warn('idle database connection failed', { error: err.message }));
// A client of its own: blocking commands must not share the web's short command timeout.
const redis = new Redis(/** @type {string} */ (process.env.REDIS_URL), { maxRetriesPerRequest: null, connectTimeout: 2000 });
redis.on('error', (err) => logger.warn('queue connection failed', { error: err.message }));

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    if (!stopping) logger.info('stop requested: finishing the job in hand', { signal: sig });
    stopping = true;
  });
}

const done = await runWorker({
  queue: {
    take: (timeoutS) => redis.blmove(queueName, processing, 'RIGHT', 'LEFT', timeoutS),
    ack: async (job) => void (await redis.lrem(processing, 1, job)),
  },
  store: { record: async (job) => void (await pool.query('INSERT INTO jobs_done (job_id, worker, version) VALUES ($1, $2, $3)', [job, me, version])) },
  stopping: () => stopping,
  beat: () => writeFileSync(HEARTBEAT_FILE, String(Date.now())),
  workMs,
  onRetry: (err, attempt) => logger.warn('recording a job failed, retrying', { error: err instanceof Error ? err.message : String(err), attempt }),
});
logger.info('drained', { jobs: done });
await Promise.allSettled([pool.end(), redis.quit()]);
process.exit(0);
