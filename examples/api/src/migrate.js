// Apply migrations/*.sql in order, each in its own transaction, recorded in schema_migrations.
// Run as a release step (`npm run migrate`) before new code takes traffic. Two runs at once are
// safe: the second waits on an advisory lock, then finds nothing left to do.
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError, databaseUrl } from './config.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
/** Arbitrary constant shared by every migrate run against the same database. */
const LOCK_KEY = 7_261_120_415;
const FILE_PATTERN = /^(\d+)_[\w-]+\.sql$/;

/**
 * @typedef {{ version: string, file: string, sql: string, checksum: string }} Migration
 */

/**
 * Order migration files and check their names. Pure.
 * @param {string[]} files  directory entries
 * @returns {string[]} the .sql files in apply order
 * @throws {Error} naming a .sql file that does not follow NNN_name.sql, or a duplicated number
 */
export function orderMigrationFiles(files) {
  const sql = files.filter((f) => f.endsWith('.sql'));
  const bad = sql.find((f) => !FILE_PATTERN.test(f));
  if (bad) throw new Error(`migrations/${bad}: expected a name like 001_create_items.sql (number, underscore, name)`);
  const byNumber = new Map();
  for (const f of sql) {
    const n = Number(/** @type {RegExpExecArray} */ (FILE_PATTERN.exec(f))[1]);
    if (byNumber.has(n)) throw new Error(`migrations/${f}: number ${n} is also used by ${byNumber.get(n)}`);
    byNumber.set(n, f);
  }
  return [...byNumber.entries()].sort((a, b) => a[0] - b[0]).map(([, f]) => f);
}

/**
 * Decide what to apply given what the database has recorded. Pure.
 * @param {Migration[]} migrations  in apply order
 * @param {Map<string, string>} applied  version -> checksum recorded when it was applied
 * @returns {Migration[]} the pending ones
 * @throws {Error} when an applied migration's file has changed since (edit a new file instead)
 */
export function pendingMigrations(migrations, applied) {
  for (const m of migrations) {
    const recorded = applied.get(m.version);
    if (recorded !== undefined && recorded !== m.checksum) {
      throw new Error(`migrations/${m.file}: changed after it was applied (checksum ${m.checksum.slice(0, 12)}, recorded ${recorded.slice(0, 12)}); add a new migration instead`);
    }
  }
  return migrations.filter((m) => !applied.has(m.version));
}

/**
 * Read the migration files from a directory.
 * @param {string} dir
 * @returns {Promise<Migration[]>}
 */
export async function readMigrations(dir = MIGRATIONS_DIR) {
  const files = orderMigrationFiles(await readdir(dir));
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(join(dir, file), 'utf8');
      return { version: file.replace(/\.sql$/, ''), file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/**
 * Apply pending migrations over one connection.
 * @param {pg.ClientBase} client  connected
 * @param {{ dir?: string, log?: (line: string) => void }} [opts]
 * @returns {Promise<{ applied: string[], alreadyApplied: number }>}
 */
export async function migrate(client, { dir = MIGRATIONS_DIR, log = () => {} } = {}) {
  const migrations = await readMigrations(dir);
  await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    TEXT PRIMARY KEY,
      checksum   TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query('SELECT version, checksum FROM schema_migrations');
    const applied = new Map(rows.map((r) => [r.version, r.checksum]));
    const pending = pendingMigrations(migrations, applied);
    for (const m of pending) {
      const t0 = Date.now();
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [m.version, m.checksum]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migrations/${m.file}: ${/** @type {Error} */ (err).message}`);
      }
      log(`applied ${m.file} (${Date.now() - t0} ms)`);
    }
    if (pending.length === 0) log(`up to date (${applied.size} migrations already applied)`);
    return { applied: pending.map((m) => m.file), alreadyApplied: applied.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
  }
}

/** Errors that mean "the database is not up yet" rather than "this will never work". */
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', '57P03' /* starting up */]);

/**
 * Retry `fn` while it fails with a transient connection error, a bounded number of times: a
 * release step or a dev stack may start a moment before PostgreSQL accepts connections.
 * @template T
 * @param {() => Promise<T>} fn
 * @param {{ attempts?: number, delayMs?: number, onRetry?: (err: Error, attempt: number) => void }} [opts]
 * @returns {Promise<T>}
 */
export async function retryTransient(fn, { attempts = 30, delayMs = 1000, onRetry = () => {} } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const e = /** @type {Error & { code?: string }} */ (err);
      const transient = (e.code !== undefined && TRANSIENT.has(e.code)) || /timeout/i.test(e.message);
      if (!transient || attempt >= attempts) throw err;
      onRetry(e, attempt);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** CLI: `node src/migrate.js` with DATABASE_URL set. Exit 0 applied/up to date, 1 failed, 2 bad config. */
async function main() {
  let url;
  try {
    url = databaseUrl(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`migrate: config error: ${err.message}`);
      return 2;
    }
    throw err;
  }
  /** @type {pg.Client | undefined} */
  let client;
  try {
    client = await retryTransient(
      async () => {
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
        try {
          await c.connect();
          return c;
        } catch (err) {
          await c.end().catch(() => {});
          throw err;
        }
      },
      { onRetry: (err, n) => console.log(`migrate: database not reachable yet (${err.message}), retry ${n}`) },
    );
    await migrate(client, { log: (line) => console.log(`migrate: ${line}`) });
    return 0;
  } catch (err) {
    // pg's messages name hosts and SQL errors, never the password.
    console.error(`migrate: failed: ${/** @type {Error} */ (err).message}`);
    return 1;
  } finally {
    await client?.end().catch(() => {});
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main();
}
