/**
 * The restore drill (`pier db drill <env>`): is the environment recoverable, and how fast? RPO:
 * age of the newest verified backup before the drill against `backup.rpoMinutes`. Then a backup
 * whose dump and a measure of the live database share one snapshot, a restore of the kept file
 * into a scratch database (timed: the RTO), and per-table row counts and checksums compared with
 * both. Everything goes to the run report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redactObject } from '../util/redact.ts';
import * as sql from './commands.ts';
import { backup, databaseOwner, listBackups, restoreInto, tmpName, verifyBackup, type DbSettings, type Log } from './backup.ts';
import { compareTables, metaFileOf, type BackupMeta } from './metadata.ts';
import type { DbRunner } from './runner.ts';

export interface DrillReport {
  runId: string;
  command: 'db drill';
  env: string;
  database: string;
  startedAt: string;
  status: 'ok' | 'failed';
  exitCode: 0 | 1;
  rpo: { objectiveMinutes: number; newest: { file: string; createdAt: string; ageMinutes: number } | null; met: boolean };
  backup?: { file: string; bytes: number; tables: number; rows: number; dumpSeconds: number; verifySeconds: number };
  /** Backup (its test restore) vs the live database at the dump's snapshot. */
  snapshotDiffs?: string[];
  /** The kept file restored into a scratch database, as a restore would: the recovery time. */
  restore?: { seconds: number; diffs: string[] };
  problems: string[];
}

/** Minutes between a backup's creation and `now`. */
export const ageMinutes = (createdAt: string, now: Date): number => Math.round(((now.getTime() - Date.parse(createdAt)) / 60_000) * 10) / 10;

/** The newest backup of `database` in `dir` that verifies (size, header, sha256); broken ones are skipped. */
export async function newestVerified(dir: string, database: string, log: Log): Promise<BackupMeta | undefined> {
  for (const file of await listBackups(dir)) {
    try {
      const meta = JSON.parse(await readFile(metaFileOf(file), 'utf8')) as BackupMeta;
      if (meta.database !== database) continue;
      return await verifyBackup(file);
    } catch (e) {
      log(`skipping ${file}: ${(e as Error).message}`);
    }
  }
  return undefined;
}

export async function drill(runner: DbRunner, s: DbSettings, o: { runId: string; appVersion: string; now?: Date; log?: Log }): Promise<DrillReport> {
  const log = o.log ?? (() => undefined);
  const now = o.now ?? new Date();
  const objective = s.rpoMinutes ?? 60;
  const problems: string[] = [];
  const newest = await newestVerified(s.dir, s.database, log);
  const rpo: DrillReport['rpo'] = newest
    ? { objectiveMinutes: objective, newest: { file: newest.file, createdAt: newest.createdAt, ageMinutes: ageMinutes(newest.createdAt, now) }, met: ageMinutes(newest.createdAt, now) <= objective }
    : { objectiveMinutes: objective, newest: null, met: false };
  if (!rpo.met) problems.push(newest ? `RPO: the newest verified backup is ${rpo.newest!.ageMinutes} min old, over backup.rpoMinutes ${objective}` : `RPO: no verified backup of ${s.database} in ${s.dir}`);
  log(`RPO: ${newest ? `newest verified backup ${rpo.newest!.ageMinutes} min old` : 'no verified backup'} (objective ${objective} min)`);
  const report: DrillReport = { runId: o.runId, command: 'db drill', env: s.env, database: s.database, startedAt: now.toISOString(), status: 'failed', exitCode: 1, rpo, problems };

  const b = await backup(runner, s, { appVersion: o.appVersion, reason: 'drill', measureLive: true, log });
  report.backup = { file: b.file, bytes: b.meta.bytes, tables: b.meta.tables.length, rows: b.meta.tables.reduce((n, t) => n + t.rows, 0), dumpSeconds: b.dumpSeconds, verifySeconds: b.verifySeconds };
  report.snapshotDiffs = compareTables(b.live!.tables, b.meta.tables);
  if (report.snapshotDiffs.length) problems.push(`backup differs from the live database at its snapshot: ${report.snapshotDiffs.join('; ')}`);

  const scratch = `${s.database}_pier_drill`;
  const inContainer = tmpName('drill');
  const t0 = Date.now();
  try {
    log(`restore ${b.file} into ${scratch} (timed: RTO)`);
    await runner.copyIn(b.file, inContainer);
    const restored = await restoreInto(runner, s.user, scratch, inContainer, await databaseOwner(runner, s.user, s.database));
    const diffs = [...compareTables(b.meta.tables, restored.tables), ...compareTables(b.live!.tables, restored.tables).map((d) => `vs live snapshot: ${d}`)];
    report.restore = { seconds: (Date.now() - t0) / 1000, diffs };
    if (diffs.length) problems.push(`restore differs: ${diffs.join('; ')}`);
  } finally {
    await runner.exec(sql.psql(s.user, 'postgres', sql.dropDatabaseSql(scratch))).catch(() => undefined);
    await runner.exec(sql.removeFile(inContainer)).catch(() => undefined);
  }
  if (!problems.length) Object.assign(report, { status: 'ok', exitCode: 0 });
  return report;
}

/** Write the drill report under `<root>/.pier/runs/<runId>/` and return its path. */
export function writeDrillReport(root: string, report: DrillReport): string {
  const dir = join(root, '.pier', 'runs', report.runId);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'report.json');
  writeFileSync(file, `${JSON.stringify(redactObject(report), null, 2)}\n`);
  return file;
}
