/**
 * Verified PostgreSQL backups. `backup`: pg_dump (custom format) inside the database container,
 * copied out, test-restored into a scratch database where per-table row counts and checksums and
 * the migration level are measured, then kept with a sha256 and that metadata; old ones pruned.
 * `verifyBackup`: the file matches its metadata. `restore`: verify, restore into a scratch
 * database, compare with the metadata, and only then swap it in place of the live database.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GateError } from '../util/errors.ts';
import { poll } from '../util/poll.ts';
import * as sql from './commands.ts';
import {
  BACKUP_FORMAT, backupFileName, compareTables, metaFileOf, metaProblems, parseMigrationLevel, parseTableSums, retentionVictims,
  type BackupMeta, type MigrationLevel, type TableSum,
} from './metadata.ts';
import type { DbRunner } from './runner.ts';

/** The backup file is damaged, incomplete or does not match its metadata. */
export class CorruptBackupError extends GateError {}

/** A restore produced data that differs from what the backup recorded (the live database was not touched). */
export class RestoreMismatchError extends GateError {}

export interface DbSettings {
  env: string;
  database: string;
  user: string;
  /** Local directory for this environment's backups. */
  dir: string;
  keep: number;
}

export type Log = (line: string) => void;

/** sha256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Row counts + checksums of every user table, and the migration level, of `database`. */
export async function measure(runner: DbRunner, user: string, database: string): Promise<{ tables: TableSum[]; migration: MigrationLevel | null }> {
  const tables = (await runner.exec(sql.psql(user, database, sql.LIST_TABLES_SQL))).split('\n').map((l) => l.trim()).filter(Boolean);
  const sums = parseTableSums(await runner.exec(sql.psql(user, database, sql.tableChecksumsSql(tables))));
  const has = (await runner.exec(sql.psql(user, database, sql.HAS_MIGRATIONS_SQL))).trim() === 't';
  const migration = has ? parseMigrationLevel(await runner.exec(sql.psql(user, database, sql.MIGRATION_LEVEL_SQL))) : null;
  return { tables: sums, migration };
}

async function recreate(runner: DbRunner, user: string, db: string): Promise<void> {
  await runner.exec(sql.psql(user, 'postgres', sql.dropDatabaseSql(db)));
  await runner.exec(sql.psql(user, 'postgres', sql.createDatabaseSql(db)));
}

/** pg_restore `containerFile` into a fresh `scratch` database and measure it. */
async function restoreInto(runner: DbRunner, user: string, scratch: string, containerFile: string) {
  await recreate(runner, user, scratch);
  await runner.exec(sql.pgRestore(user, scratch, containerFile));
  return measure(runner, user, scratch);
}

const tmpName = (what: string) => `/tmp/pier-${what}-${process.pid}-${Date.now()}.dump`;

/**
 * Take a verified backup. Returns the kept file, its metadata and the files retention removed.
 * A dump that cannot be restored is not kept (the error says why).
 */
export async function backup(runner: DbRunner, s: DbSettings, o: { appVersion: string; now?: Date; log?: Log }): Promise<{ file: string; meta: BackupMeta; removed: string[] }> {
  const log = o.log ?? (() => undefined);
  const at = o.now ?? new Date();
  await mkdir(s.dir, { recursive: true, mode: 0o700 }); // dumps hold the application's data: owner only
  const name = backupFileName(s.env, s.database, at);
  const file = join(s.dir, name);
  const partial = `${file}.partial`;
  const inContainer = tmpName('backup');
  const scratch = `${s.database}_pier_verify`;
  try {
    log(`pg_dump ${s.database} (${runner.where})`);
    await runner.exec(sql.pgDump(s.user, s.database, inContainer));
    await runner.copyOut(inContainer, partial);
    await chmod(partial, 0o600);
    // The checksums must describe the dump itself, not the live database a moment later: measure a test restore of it.
    log(`test restore into ${scratch}`);
    const measured = await restoreInto(runner, s.user, scratch, inContainer);
    const meta: BackupMeta = {
      format: BACKUP_FORMAT, env: s.env, database: s.database, file: name, bytes: (await stat(partial)).size, sha256: await sha256File(partial),
      createdAt: at.toISOString(), appVersion: o.appVersion, migration: measured.migration, tables: measured.tables,
    };
    await rename(partial, file);
    await writeFile(metaFileOf(file), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    const removed = await prune(s.dir, s.keep);
    return { file, meta, removed };
  } finally {
    await rm(partial, { force: true });
    await runner.exec(sql.psql(s.user, 'postgres', sql.dropDatabaseSql(scratch))).catch(() => undefined);
    await runner.exec(sql.removeFile(inContainer)).catch(() => undefined);
  }
}

/** Delete dumps (and their metadata) beyond the newest `keep` in `dir`. */
export async function prune(dir: string, keep: number): Promise<string[]> {
  const dumps = (await readdir(dir)).filter((f) => f.endsWith('.dump') && existsSync(join(dir, metaFileOf(f))));
  const victims = retentionVictims(dumps, keep);
  for (const v of victims) {
    await rm(join(dir, v), { force: true });
    await rm(join(dir, metaFileOf(v)), { force: true });
  }
  return victims;
}

/** Check a dump against its metadata (present, well-formed, size, sha256, custom-format header). Throws CorruptBackupError. */
export async function verifyBackup(file: string): Promise<BackupMeta> {
  if (!existsSync(file)) throw new CorruptBackupError(`${file}: no such backup file`);
  const metaFile = metaFileOf(file);
  if (!existsSync(metaFile)) throw new CorruptBackupError(`${file}: metadata ${basename(metaFile)} is missing; an incomplete backup is not trusted`);
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(metaFile, 'utf8'));
  } catch (e) {
    throw new CorruptBackupError(`${metaFile}: not valid JSON (${(e as Error).message})`);
  }
  const problems = metaProblems(meta);
  if (problems.length) throw new CorruptBackupError(`${metaFile}: ${problems.join('; ')}`);
  const m = meta as BackupMeta;
  const { size } = await stat(file);
  if (size !== m.bytes) throw new CorruptBackupError(`${file}: ${size} bytes, the backup wrote ${m.bytes}: truncated or altered`);
  const head = Buffer.alloc(5);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 5, 0);
  } finally {
    await fh.close();
  }
  if (head.toString('latin1') !== 'PGDMP') throw new CorruptBackupError(`${file}: not a pg_dump custom-format file (header ${JSON.stringify(head.toString('latin1'))})`);
  const sum = await sha256File(file);
  if (sum !== m.sha256) throw new CorruptBackupError(`${file}: sha256 ${sum.slice(0, 16)}… does not match the recorded ${m.sha256.slice(0, 16)}…: the file is corrupted`);
  return m;
}

export interface RestoreResult {
  meta: BackupMeta;
  tables: TableSum[];
  /** The live database existed and was replaced (else it was created). */
  replaced: boolean;
  seconds: number;
}

/**
 * Restore `file` into the live database: verify the file, restore into a scratch database,
 * compare row counts and checksums with the metadata, then swap. The live database is untouched
 * unless every table matches.
 */
export async function restore(runner: DbRunner, s: DbSettings, file: string, o: { log?: Log } = {}): Promise<RestoreResult> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const meta = await verifyBackup(file);
  log(`verified ${basename(file)} (sha256 ${meta.sha256.slice(0, 12)}…, ${meta.tables.length} tables, app ${meta.appVersion})`);
  const scratch = `${s.database}_pier_restore`;
  const inContainer = tmpName('restore');
  let swapped = false;
  try {
    await runner.copyIn(file, inContainer);
    log(`restore into scratch database ${scratch} (${runner.where})`);
    const measured = await restoreInto(runner, s.user, scratch, inContainer);
    const diffs = compareTables(meta.tables, measured.tables);
    if (diffs.length) throw new RestoreMismatchError(`restored data differs from the backup; ${s.database} was not touched:\n  ${diffs.join('\n  ')}`);
    log(`scratch matches the backup: ${measured.tables.map((t) => `${t.table} ${t.rows}`).join(', ') || 'no tables'}`);
    const liveExists = (await runner.exec(sql.psql(s.user, 'postgres', sql.databaseExistsSql(s.database)))).trim() === '1';
    const old = `${s.database}_pier_old`;
    if (liveExists) await runner.exec(sql.psql(s.user, 'postgres', sql.dropDatabaseSql(old)));
    const run = (q: string) => runner.exec(sql.psql(s.user, 'postgres', q));
    try {
      for (const step of sql.swapSql(s.database, scratch, old, liveExists)) {
        // A terminated backend can take a moment to go; the rename is retried briefly.
        await poll('database rename', async () => (await run(step), true), {
          timeoutMs: 60_000,
          maxAttempts: 21,
          intervalMs: 250,
          retry: (e) => /being accessed by other users/.test((e as Error).message),
          onGiveUp: (e) => e.lastError as Error,
        });
      }
    } catch (e) {
      // Put the live database back as it was before failing.
      if (liveExists) {
        await run(sql.renameBackSql(old, s.database)).catch(() => undefined);
        await run(sql.allowConnectionsSql(s.database)).catch(() => undefined);
      }
      throw e;
    }
    swapped = true;
    if (liveExists) await runner.exec(sql.psql(s.user, 'postgres', sql.dropDatabaseSql(old)));
    log(`swapped into ${s.database}`);
    return { meta, tables: measured.tables, replaced: liveExists, seconds: (Date.now() - t0) / 1000 };
  } finally {
    if (!swapped) await runner.exec(sql.psql(s.user, 'postgres', sql.dropDatabaseSql(scratch))).catch(() => undefined);
    await runner.exec(sql.removeFile(inContainer)).catch(() => undefined);
  }
}

/** Backups in `dir`, newest first. */
export async function listBackups(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => f.endsWith('.dump')).sort().reverse().map((f) => join(dir, f));
}
