/**
 * PostgreSQL commands as data: argv run inside the database container (local socket, so no
 * password ever travels) and SQL text. Executed only by src/db/runner.ts.
 */

/** `pg_dump` in custom format (compressed, selective restore) to a file inside the container. */
export function pgDump(user: string, database: string, file: string): string[] {
  return ['pg_dump', '--username', user, '--dbname', database, '--format', 'custom', '--file', file];
}

/** `pg_restore` of a custom-format file into `database` (objects owned by the restoring role). */
export function pgRestore(user: string, database: string, file: string): string[] {
  return ['pg_restore', '--username', user, '--dbname', database, '--no-owner', '--exit-on-error', file];
}

/** `psql` running `sql` with errors fatal, unaligned tab-separated output without headers. */
export function psql(user: string, database: string, sql: string): string[] {
  return ['psql', '--username', user, '--dbname', database, '--no-psqlrc', '--set', 'ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--field-separator', '\t', '--command', sql];
}

/** Remove a file inside the container. */
export const removeFile = (file: string): string[] => ['rm', '-f', file];

/** SQL identifier quoting: `my"db` -> `"my""db"`. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** SQL string literal: `it's` -> `'it''s'`. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** User tables as `schema.table` (quoted), one per line, in a stable order. */
export const LIST_TABLES_SQL =
  "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1";

/**
 * Per table: name, row count and an order-independent checksum of its rows (md5 over the sorted
 * md5 of each row's text form), one tab-separated line per table.
 */
export function tableChecksumsSql(tables: readonly string[]): string {
  if (tables.length === 0) return "SELECT '' WHERE false";
  return tables
    .map((t) => `SELECT ${literal(t)}, count(*), coalesce(md5(string_agg(md5(r::text), ',' ORDER BY md5(r::text))), '') FROM ${t} r`)
    .join(' UNION ALL ');
}

/** Whether schema_migrations exists ('t'/'f'). */
export const HAS_MIGRATIONS_SQL = "SELECT to_regclass('public.schema_migrations') IS NOT NULL";

/** Migration level: number of applied migrations and the highest version. */
export const MIGRATION_LEVEL_SQL = 'SELECT count(*), coalesce(max(version)::text, \'\') FROM public.schema_migrations';

export const createDatabaseSql = (db: string): string => `CREATE DATABASE ${ident(db)}`;
export const dropDatabaseSql = (db: string): string => `DROP DATABASE IF EXISTS ${ident(db)} WITH (FORCE)`;
export const databaseExistsSql = (db: string): string => `SELECT count(*) FROM pg_database WHERE datname = ${literal(db)}`;

/**
 * Swap a verified scratch database into the live name: refuse new connections to the live one,
 * end the open ones, rename live -> `old` and scratch -> live. The app reconnects to the restored
 * data; `old` is dropped by the caller once the swap is done.
 */
export function swapSql(live: string, scratch: string, old: string, liveExists: boolean): string[] {
  const steps: string[] = [];
  if (liveExists) {
    steps.push(`ALTER DATABASE ${ident(live)} ALLOW_CONNECTIONS false`);
    steps.push(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${literal(live)} AND pid <> pg_backend_pid()`);
    steps.push(`ALTER DATABASE ${ident(live)} RENAME TO ${ident(old)}`);
  }
  steps.push(`ALTER DATABASE ${ident(scratch)} RENAME TO ${ident(live)}`);
  return steps;
}

/** Undo of a half-done swap: the old database back under the live name. */
export const renameBackSql = (old: string, live: string): string =>
  `DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_database WHERE datname = ${literal(old)}) AND NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${literal(live)}) THEN EXECUTE ${literal(`ALTER DATABASE ${ident(old)} RENAME TO ${ident(live)}`)}; END IF; END $$`;
export const allowConnectionsSql = (db: string): string => `ALTER DATABASE ${ident(db)} ALLOW_CONNECTIONS true`;
