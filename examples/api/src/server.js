// Entry point: validate the environment, connect PostgreSQL and Redis, serve, drain on SIGTERM.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { ConfigError, parseConfig } from './config.js';
import { createLogger } from './log.js';
import { createItemStore } from './items.js';
import { createCache } from './cache.js';
import { createMetrics } from './metrics.js';
import { createApp } from './app.js';
import { createShutdown } from './shutdown.js';
import { migrate, retryTransient } from './migrate.js';
import { retryReads } from './db-retry.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** @returns {import('./config.js').Config} */
function loadConfigOrExit() {
  try {
    return parseConfig(process.env, pkg.version);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`config error: ${err.message}`);
    process.exit(2);
  }
}

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);

// Fail fast instead of hanging: a down database or cache must show in /health within ~1 s.
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10, connectionTimeoutMillis: Number(process.env.DB_CONNECT_TIMEOUT_MS) || 1000, idleTimeoutMillis: 10_000 });
pool.on('error', (err) => logger.warn('idle database connection failed', { error: err.message }));

const redis = new Redis(config.redisUrl, {
  enableOfflineQueue: false, // commands fail at once while disconnected rather than queueing
  maxRetriesPerRequest: 1,
  connectTimeout: 1000,
  commandTimeout: 500,
  retryStrategy: (times) => Math.min(100 * times, 1000), // reconnect forever, at most 1 s apart
});
let redisUp = false;
redis.on('ready', () => {
  redisUp = true;
  logger.info('cache connected');
});
redis.on('error', (err) => {
  if (redisUp) logger.warn('cache connection lost', { error: err.message });
  redisUp = false; // log a down cache once per outage, not once per retry
});

if (config.migrateOnStart) {
  try {
    const client = await retryTransient(() => pool.connect(), {
      onRetry: (err, n) => logger.warn('database not reachable yet', { error: err.message, retry: n }),
    });
    try {
      await migrate(client, { log: (line) => logger.info(`migrate: ${line}`) });
    } finally {
      client.release();
    }
  } catch (err) {
    logger.error('migration on start failed', { error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
}

const state = { shuttingDown: false, inFlight: 0 };
const server = createServer(
  createApp({
    config,
    // Reads survive their connection being ended (a database restore's swap, a failover).
    items: createItemStore(retryReads(pool, { onRetry: (err) => logger.debug('database read retried', { error: err.message }) })),
    cache: createCache(redis),
    metrics: createMetrics({ pool }),
    logger,
    state,
  }),
);

// Idle keep-alive sockets outlive a fronting proxy's (nginx, cloud load balancers: 60 s), so the
// proxy never reuses a socket the app is closing at that instant (a source of stray 502s).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;

const shutdown = createShutdown({
  server,
  state,
  timeoutMs: config.shutdownTimeoutMs,
  logger,
  closeResources: async () => {
    await Promise.allSettled([pool.end(), redis.quit().catch(() => redis.disconnect())]);
  },
});
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

server.listen(config.port, () => {
  logger.info('listening', { port: config.port, version: config.version, failRate: config.failRate, delayMs: config.delayMs });
});
