/**
 * Verified PostgreSQL backups. `backup`: pg_dump (custom format) inside the database container,
 * streamed out as it is written (a copy stays inside for the test restore), test-restored into a
 * scratch database where per-table row counts and checksums and the migration level are
 * measured, then kept with a sha256 and that metadata; old ones pruned
 * (per database, by creation time). `verifyBackup`: the file matches its metadata. `restore`:
 * refuse a backup of another environment or database (unless forced), verify, restore into a
 * scratch database with the live owner and database-level grants, compare with the metadata and
 * the app role's access, take a safety dump of the live database, swap (one transaction), check
 * as the app's role, and only then drop the old database (else swap it back).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { GateError, UsageError } from '../util/errors.ts';
import { poll } from '../util/poll.ts';
import * as sql from './commands.ts';
import {
  BACKUP_FORMAT, backupFileName, compareTables, metaFileOf, metaProblems, parseMeasure, retentionVictims,
  type BackupMeta, type KeptDump, type MigrationLevel, type TableSum,
} from './metadata.ts';
import type { DbRunner } from './runner.ts';

/** A backup of another environment or database given to restore (exit 2 unless --force). */
export class WrongTargetError extends UsageError {}

/** The restored database would not give the app's role the access it has now. */
export class AccessLostError extends GateError {}

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
  /** Role the app connects as; default: the database's owner. */
  appRole?: string;
  /** Recovery point objective: the newest verified backup may be at most this old (drill). */
  rpoMinutes?: number;
}

export type Log = (line: string) => void;

/** sha256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export type Measured = { tables: TableSum[]; migration: MigrationLevel | null };

/**
 * Row counts + checksums of every user table, and the migration level, of `database` (one
 * snapshot). Full scans: run as background work (sql.inBackground) so a live app on the same
 * server keeps the CPU.
 */
export async function measure(runner: DbRunner, user: string, database: string): Promise<Measured> {
  return parseMeasure(await runner.exec(sql.inBackground(user, sql.psqlScript(user, database, sql.measureScript()))));
}

/** The role owning `db`, or undefined when there is no such database. */
export async function databaseOwner(runner: DbRunner, user: string, db: string): Promise<string | undefined> {
  const v = JSON.parse((await runner.exec(sql.psql(user, 'postgres', sql.databaseOwnerSql(db)))).trim() || 'null') as string | null;
  return v ?? undefined;
}

/** What `role` cannot do in `db` (see accessProblemsSql). */
export async function accessProblems(runner: DbRunner, user: string, db: string, role: string): Promise<string[]> {
  return JSON.parse((await runner.exec(sql.psql(user, db, sql.accessProblemsSql(role)))).trim() || '[]') as string[];
}

async function recreate(runner: DbRunner, user: string, db: string, owner?: string): Promise<void> {
  // Two statements (each its own transaction: neither may run in a transaction block), one exec.
  await runner.exec(sql.psqlEach(user, 'postgres', [sql.dropDatabaseSql(db), sql.createDatabaseSql(db, owner)]));
}

/**
 * pg_restore `containerFile` into a fresh `scratch` database owned by `owner` (as background
 * work: a live app on the same server keeps the CPU) and measure it. With `analyze` (a scratch
 * database that will serve), VACUUM (ANALYZE) it as well: the planner gets statistics, pages
 * get their hint bits and visibility map before the app reads them, and autovacuum has nothing
 * left to do there (an autovacuum worker in it would also hold up the rename, 100 ms at a time).
 */
export async function restoreInto(runner: DbRunner, user: string, scratch: string, containerFile: string, owner?: string, o: { analyze?: boolean; phase?: Phase } = {}): Promise<Measured> {
  const phase = o.phase ?? ((_n, f) => f());
  await recreate(runner, user, scratch, owner);
  await phase('pg_restore', () => runner.exec(sql.inBackground(user, sql.pgRestore(user, scratch, containerFile))));
  if (o.analyze) await phase('vacuum_analyze', () => runner.exec(sql.inBackground(user, sql.psql(user, scratch, 'VACUUM (ANALYZE)'))));
  return phase('measure', () => measure(runner, user, scratch));
}

/** Runs one named step of a restore and records when it ran (see RestoreResult.phases). */
export type Phase = <T>(name: string, f: () => Promise<T>) => Promise<T>;

export const tmpName = (what: string) => `/tmp/pier-${what}-${process.pid}-${Date.now()}.dump`;

export interface BackupOptions {
  appVersion: string;
  now?: Date;
  log?: Log;
  reason?: BackupMeta['reason'];
  /** Files retention must not delete (e.g. the backup being restored). */
  protect?: readonly string[];
  /** Also measure the live database at the dump's own snapshot (the drill). */
  measureLive?: boolean;
  /**
   * Dump as background work (sql.inBackground), as a restore's safety dump does while the app
   * serves. Not by default: the renicing watcher's polls cost a plain backup measurable time
   * against a bare pg_dump (bench:db). The test restore and its checksums always run so.
   */
  background?: boolean;
}

export interface BackupResult {
  file: string;
  meta: BackupMeta;
  removed: string[];
  /** pg_dump streamed out (pier's dump step alone). */
  dumpSeconds: number;
  /** Test restore + measure. */
  verifySeconds: number;
  /** With measureLive: the live database at the dump's snapshot. */
  live?: Measured;
}

/**
 * Take a verified backup. Returns the kept file, its metadata and the files retention removed.
 * A dump that cannot be restored is not kept (the error says why).
 */
export async function backup(runner: DbRunner, s: DbSettings, o: BackupOptions): Promise<BackupResult> {
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
    const t0 = Date.now();
    const owner = await databaseOwner(runner, s.user, s.database);
    let live: Measured | undefined;
    if (o.measureLive) {
      const script = sql.psqlScript(s.user, s.database, sql.snapshotDumpScript(s.user, s.database, inContainer));
      live = parseMeasure(await runner.exec(o.background ? sql.inBackground(s.user, script) : script));
      const rc = (await runner.exec(['cat', `${inContainer}.rc`])).trim();
      if (rc !== '0') throw new Error(`pg_dump at the exported snapshot failed (exit ${rc})`);
      await runner.copyOut(inContainer, partial);
      await chmod(partial, 0o600);
    } else {
      const dump = sql.pgDumpTee(s.user, s.database, inContainer);
      await runner.execToFile(o.background ? sql.inBackground(s.user, dump) : dump, partial);
    }
    const dumpSeconds = (Date.now() - t0) / 1000;
    // The checksums must describe the dump itself, not the live database a moment later: measure a test restore of it.
    log(`test restore into ${scratch}`);
    const t1 = Date.now();
    const measured = await restoreInto(runner, s.user, scratch, inContainer, owner);
    const verifySeconds = (Date.now() - t1) / 1000;
    const meta: BackupMeta = {
      format: BACKUP_FORMAT, env: s.env, database: s.database, file: name, bytes: (await stat(partial)).size, sha256: await sha256File(partial),
      createdAt: at.toISOString(), appVersion: o.appVersion, migration: measured.migration, tables: measured.tables,
      ...(owner ? { owner } : {}), reason: o.reason ?? 'backup',
    };
    await rename(partial, file);
    await writeFile(metaFileOf(file), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    const removed = await prune(s.dir, s.keep, [file, ...(o.protect ?? [])]);
    return { file, meta, removed, dumpSeconds, verifySeconds, ...(live ? { live } : {}) };
  } finally {
    await rm(partial, { force: true });
    await runner.exec(sql.psql(s.user, 'postgres', sql.dropDatabaseSql(scratch))).catch(() => undefined);
    await runner.exec(sql.removeFile(inContainer)).catch(() => undefined);
    if (o.measureLive) await runner.exec(sql.removeFile(`${inContainer}.rc`)).catch(() => undefined);
  }
}

/** Finished dumps in `dir` (a dump with readable metadata), with what retention needs. */
async function keptDumps(dir: string): Promise<KeptDump[]> {
  const out: KeptDump[] = [];
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.dump'))) {
    try {
      const m = JSON.parse(await readFile(join(dir, metaFileOf(f)), 'utf8')) as Partial<BackupMeta>;
      if (typeof m.database === 'string' && typeof m.createdAt === 'string' && !Number.isNaN(Date.parse(m.createdAt))) out.push({ file: join(dir, f), database: m.database, createdAt: m.createdAt });
    } catch {
      // No or unreadable metadata: not a finished backup of pier's, left alone.
    }
  }
  return out;
}

/**
 * Delete dumps (and their metadata) beyond the newest `keep` per database in `dir`, by the
 * metadata's creation time; never one of `protect` (absolute paths). Returns the removed names.
 */
export async function prune(dir: string, keep: number, protect: readonly string[] = []): Promise<string[]> {
  const victims = retentionVictims(await keptDumps(dir), keep, protect);
  for (const v of victims) {
    await rm(v, { force: true });
    await rm(metaFileOf(v), { force: true });
  }
  return victims.map((v) => basename(v));
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
  /** The verified dump of the live database taken just before the swap. */
  safetyBackup?: string;
  /** Server-measured time with no usable live database (connections refused or none under the name). */
  swapWindowMs: number;
  /** This machine's clock (ms) before and after the swap's round trip, to place the window among other events. */
  swapAt: { start: number; end: number };
  /** Role whose access was checked after the swap. */
  appRole: string;
  /** Each step with this machine's clock (ms) at its start and end, in order: where the time (and an app's failures) went. */
  phases: { name: string; start: number; end: number }[];
}

export interface RestoreOptions {
  log?: Log;
  /** Restore a backup of another environment or database. */
  force?: boolean;
}

/** The restore target differs from where the backup came from: the refusal, or (forced) what is replaced. */
export function targetMismatch(meta: Pick<BackupMeta, 'env' | 'database'>, s: Pick<DbSettings, 'env' | 'database'>): string | undefined {
  if (meta.env === s.env && meta.database === s.database) return undefined;
  return `the backup is of database ${meta.database} in environment ${meta.env}; the target is database ${s.database} in environment ${s.env}`;
}

/** The server clock readings around (and inside) the swap -> ms between consecutive ones. */
export function swapSteps(out: string): number[] {
  const stamps = out.split('\n').map((l) => l.trim()).filter((l) => /^\d+(\.\d+)?$/.test(l) && l.includes('.')).map(Number);
  if (stamps.length < 2) throw new Error(`swap: expected two clock readings, got ${JSON.stringify(out.slice(0, 200))}`);
  return stamps.slice(1).map((t, i) => Math.round((t - stamps[i]!) * 1000 * 10) / 10);
}

/** The server clock readings around the swap -> window in ms (first to last). */
export function swapWindowMs(out: string): number {
  return Math.round(swapSteps(out).reduce((a, b) => a + b, 0) * 10) / 10;
}

/**
 * Restore `file` into the live database: refuse a backup of another environment/database unless
 * forced; verify the file, restore into a scratch database owned by the live owner, compare row
 * counts and checksums with the metadata and the app role's privileges with the live database's;
 * take a verified safety dump of the live database; swap (renames in one transaction); check as
 * the app's role that it reads, writes and creates; only then drop the old database. The live
 * database is untouched unless all of that passes, and put back if the post-swap check fails.
 */
export async function restore(runner: DbRunner, s: DbSettings, file: string, o: RestoreOptions = {}): Promise<RestoreResult> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const meta = await verifyBackup(file);
  log(`verified ${basename(file)} (sha256 ${meta.sha256.slice(0, 12)}…, ${meta.tables.length} tables, app ${meta.appVersion})`);
  const mismatch = targetMismatch(meta, s);
  const liveOwner = await databaseOwner(runner, s.user, s.database);
  const liveExists = liveOwner !== undefined;
  if (mismatch && !o.force) throw new WrongTargetError(`refusing to restore: ${mismatch}`, `check the file; --force replaces ${s.database} of ${s.env} with it (a safety dump of ${s.database} is taken first)`);
  if (mismatch) {
    const now = liveExists ? await measure(runner, s.user, s.database) : undefined;
    log(`--force: ${mismatch}; replacing ${s.database} (${now ? now.tables.map((t) => `${t.table} ${t.rows} rows`).join(', ') || 'no tables' : 'does not exist'})`);
  }
  const metaOwnerExists = meta.owner ? (await runner.exec(sql.psql(s.user, 'postgres', sql.roleExistsSql(meta.owner)))).trim() === '1' : false;
  const owner = liveOwner ?? (metaOwnerExists ? meta.owner : undefined);
  const appRole = s.appRole ?? owner ?? s.user;
  const scratch = `${s.database}_pier_restore`;
  const old = `${s.database}_pier_old`;
  const inContainer = tmpName('restore');
  let swapped = false;
  const run = (cmds: string[]) => runner.exec(sql.psqlEach(s.user, 'postgres', cmds));
  const phases: RestoreResult['phases'] = [];
  const phase: Phase = async (name, f) => {
    const start = Date.now();
    try {
      return await f();
    } finally {
      phases.push({ name, start, end: Date.now() });
    }
  };
  try {
    await phase('copy_in', () => runner.copyIn(file, inContainer));
    log(`restore into scratch database ${scratch} owned by ${owner ?? s.user} (${runner.where})`);
    const measured = await restoreInto(runner, s.user, scratch, inContainer, owner, { analyze: true, phase });
    const diffs = compareTables(meta.tables, measured.tables);
    if (diffs.length) throw new RestoreMismatchError(`restored data differs from the backup; ${s.database} was not touched:\n  ${diffs.join('\n  ')}`);
    log(`scratch matches the backup: ${measured.tables.map((t) => `${t.table} ${t.rows}`).join(', ') || 'no tables'}`);
    const t2 = Date.now();
    // Database-level grants (CONNECT, CREATE, TEMPORARY) are the live database's, as its owner is.
    if (liveExists) await runner.exec(sql.psqlScript(s.user, 'postgres', sql.copyDatabaseGrantsScript(s.database, scratch)));
    // The app's role must keep every privilege it has on the live database.
    const baseline = liveExists ? new Set(await accessProblems(runner, s.user, s.database, appRole)) : new Set<string>();
    const lost = (await accessProblems(runner, s.user, scratch, appRole)).filter((p) => !baseline.has(p));
    phases.push({ name: 'grants_and_access', start: t2, end: Date.now() });
    if (liveExists && lost.length) throw new AccessLostError(`the restored data would not give role ${appRole} what it has now; ${s.database} was not touched:\n  ${lost.join('\n  ')}`);
    let safetyBackup: string | undefined;
    if (liveExists) {
      log(`safety dump of the live ${s.database} before the swap`);
      safetyBackup = (await phase('safety_dump', () => backup(runner, s, { appVersion: 'before-restore', reason: 'before-restore', protect: [file], log, background: true }))).file;
      log(`safety dump kept: ${safetyBackup}`);
      await run([sql.dropDatabaseSql(old)]);
    }
    // A backend that reconnected between the terminate and the rename makes it fail ("being
    // accessed by other users"): retried a few times, every other error at once.
    // A failed attempt also refused connections until it gave up: its time counts in the window.
    let failedAttemptsMs = 0;
    // A superuser's swap locks pg_database so new connections wait instead of failing (swapCommands).
    const superuser = (await runner.exec(sql.psql(s.user, 'postgres', sql.IS_SUPERUSER_SQL))).trim() === '1';
    const swapStart = Date.now();
    const lastWindowMs = await poll(
      `the swap of ${scratch} into ${s.database}`,
      async () => {
        const t = Date.now();
        try {
          const steps = swapSteps(await run(sql.swapCommands(s.database, scratch, old, liveExists, superuser)));
          if (steps.length === 2) log(`swap: sessions ended in ${steps[0]} ms, renamed in ${steps[1]} ms`);
          if (steps.length === 3) log(`swap: pg_database locked in ${steps[0]} ms, sessions ended in ${steps[1]} ms, renamed in ${steps[2]} ms`);
          return Math.round(steps.reduce((a, b) => a + b, 0) * 10) / 10;
        } catch (e) {
          // The renames are one transaction: a failure changed no name; accept connections again.
          if (liveExists) await run([sql.allowConnectionsSql(s.database)]).catch(() => undefined);
          failedAttemptsMs += Date.now() - t;
          throw e;
        }
      },
      { timeoutMs: 60_000, intervalMs: 100, maxAttempts: 3, retry: (e) => /being accessed by other users/.test((e as Error).message) },
    );
    swapped = true;
    const swapAt = { start: swapStart, end: Date.now() };
    phases.push({ name: 'swap', ...swapAt });
    const t3 = Date.now();
    const windowMs = Math.round((lastWindowMs + failedAttemptsMs) * 10) / 10;
    log(`swapped into ${s.database}: ${windowMs} ms without a usable database${failedAttemptsMs ? ` (${failedAttemptsMs} ms of it in attempts that found sessions still there)` : ''}`);
    // Check as the app's own role on what now serves, before the old database is gone.
    const after = (await accessProblems(runner, s.user, s.database, appRole)).filter((p) => !baseline.has(p));
    let acted: string | undefined;
    if (!after.length) {
      const schemas = (JSON.parse((await runner.exec(sql.psql(s.user, s.database, sql.USER_SCHEMAS_SQL))).trim() || '[]') as string[]).filter((n) => !baseline.has(`CREATE on schema ${n}`));
      acted = await runner.exec(sql.psqlScript(s.user, s.database, sql.actAsRoleScript(appRole, schemas))).then(() => undefined, (e: Error) => e.message);
    }
    if (after.length || acted) {
      const why = after.length ? after.join('\n  ') : acted!;
      if (!liveExists) throw new AccessLostError(`restored into ${s.database}, but role ${appRole} cannot use it:\n  ${why}`);
      const failed = `${s.database}_pier_failed`;
      await run([sql.dropDatabaseSql(failed)]);
      await run(sql.swapBackCommands(s.database, old, failed, superuser));
      await run([sql.dropDatabaseSql(failed)]).catch(() => undefined);
      throw new AccessLostError(`after the swap role ${appRole} could not use ${s.database}; the previous database is back:\n  ${why}`);
    }
    log(`role ${appRole} reads, writes and creates in ${s.database}`);
    phases.push({ name: 'post_swap_check', start: t3, end: Date.now() });
    if (liveExists) await phase('drop_old', () => run([sql.dropDatabaseSql(old)]));
    return { meta, tables: measured.tables, replaced: liveExists, seconds: (Date.now() - t0) / 1000, swapWindowMs: windowMs, swapAt, appRole, phases, ...(safetyBackup ? { safetyBackup } : {}) };
  } finally {
    if (!swapped) await run([sql.dropDatabaseSql(scratch)]).catch(() => undefined);
    await runner.exec(sql.removeFile(inContainer)).catch(() => undefined);
  }
}

/** Finished backups in `dir`, newest first (by the metadata's creation time). */
export async function listBackups(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await keptDumps(dir)).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt)).map((d) => d.file);
}
