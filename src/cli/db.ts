import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { backup, listBackups, restore, verifyBackup } from '../db/backup.ts';
import { drill, writeDrillReport } from '../db/drill.ts';
import { backupConfigOf, dbSettings, openRunner } from '../db/target.ts';
import { newRunId } from '../util/run-id.ts';
import { exec } from '../util/exec.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';
import { printJson } from './output.ts';
import { performer } from '../deploy/target.ts';
import { Notifier } from '../notify/notifier.ts';

export const summary = 'database backups: backup <env> | restore <env> <file> | verify <file> | list <env> | drill <env>';

export const help = `Usage: pier db backup <env> [--app-version V] [--config FILE] [--json]
       pier db restore <env> <file> [--force] [--config FILE] [--json]
       pier db verify <file> [--json]
       pier db list <env> [--config FILE]
       pier db drill <env> [--app-version V] [--config FILE] [--json]

backup   pg_dump (custom format) of the environment's database (environments/<env>.yaml: backup),
         test-restored into a scratch database to record per-table row counts and checksums and
         the migration level; kept in backup.dir/<env> with a sha256 and metadata (.json);
         only the newest backup.keep are kept.
restore  refuse a backup of another environment or database (--force: replace anyway, saying
         what); verify the file, restore it into a scratch database owned by the live owner
         (ownership and grants kept), compare row counts, checksums and the app role's access,
         take a verified safety dump of the live database, swap (both renames in one
         transaction), check as the app's role, and only then drop the old database.
verify   check a backup file against its metadata (size, sha256, format); refuses a corrupted one.
drill    RPO (newest verified backup vs backup.rpoMinutes), a backup measured against the live
         database at its own snapshot, a timed restore into a scratch database (RTO); writes
         .pier/runs/<id>/report.json. Schedule it (docs/operations.md, Backups).

Exit: 0 ok; 1 corrupted backup, restored data or access differs (live database untouched or put
back), drill over RPO or not verified; 2 bad usage or config, a backup of another environment or
database without --force; 3 database unreachable.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, 'app-version': { type: 'string' }, force: { type: 'boolean' } });
  const [sub, ...rest] = positionals;
  if (values.help || !sub) return console.log(help), values.help ? 0 : 2;
  const out = (human: string, data: unknown) => (values.json ? printJson(data) : console.error(human));
  const log = (l: string) => console.error(`  ${l}`);
  /** A backup file argument: missing is bad usage (exit 2); damaged is a gate (exit 1, from verify). */
  const fileArg = (f: string | undefined, usage: string): string => {
    if (!f) throw new UsageError(`missing file: ${usage}`);
    if (!existsSync(f)) throw new UsageError(`${f}: no such file`, 'pier db list <env> shows the kept backups');
    return resolve(f);
  };

  if (sub === 'verify') {
    const file = fileArg(rest[0], 'pier db verify <file>');
    const meta = await verifyBackup(file);
    out(`✓ ${basename(file)}: sha256 matches; ${meta.database} at ${meta.createdAt}, app ${meta.appVersion}, migration ${meta.migration ? `${meta.migration.latest} (${meta.migration.count})` : 'none'}, ${meta.tables.map((t) => `${t.table} ${t.rows}`).join(', ') || 'no tables'}`, meta);
    return 0;
  }
  if (!['backup', 'restore', 'list', 'drill'].includes(sub)) throw new UsageError(`unknown db command "${sub}"`, 'pier db backup|restore|verify|list|drill');
  const env = rest[0];
  if (!env) throw new UsageError(`missing environment: pier db ${sub} <env>`);
  const cfg = loadConfig({ configFile: values.config, env });
  const b = backupConfigOf(cfg);
  const settings = dbSettings(env, b, cfg.root);
  if (sub === 'list') {
    const files = await listBackups(settings.dir);
    out(files.join('\n') || `(no backups in ${settings.dir})`, files);
    return 0;
  }
  if (sub === 'restore') fileArg(rest[1], 'pier db restore <env> <file>'); // before connecting anywhere
  // backup.failed goes out whatever stops a backup: the database's host unreachable as much as
  // pg_dump failing.
  const notifier = sub === 'backup' ? new Notifier(cfg.env?.notify ?? [], { env, app: cfg.app.name, by: performer(), run: newRunId() }) : undefined;
  const backupFailed = async (e: Error): Promise<never> => {
    if (notifier) {
      notifier.emit('backup.failed', { hosts: [], reason: e.message });
      await notifier.settle();
      for (const w of notifier.warnings()) console.error(`! ${w}`);
    }
    throw e;
  };
  const { runner, close } = await openRunner(cfg, b).catch(backupFailed);
  try {
    const version = async () => values['app-version'] ?? ((await exec(['git', 'rev-parse', '--short', 'HEAD'], { cwd: cfg.root, nothrow: true })).stdout.trim() || 'unknown');
    if (sub === 'drill') {
      const report = await drill(runner, settings, { runId: newRunId(), appVersion: await version(), log });
      const path = writeDrillReport(cfg.root, report);
      const rows = report.backup ? `${report.backup.tables} tables, ${report.backup.rows} rows` : '';
      out(
        `${report.status === 'ok' ? '✓' : '✗'} drill ${env}: RPO ${report.rpo.newest ? `${report.rpo.newest.ageMinutes} min` : 'no backup'} (objective ${report.rpo.objectiveMinutes} min), ` +
          `backup ${report.backup?.dumpSeconds.toFixed(1)}s + verify ${report.backup?.verifySeconds.toFixed(1)}s, RTO ${report.restore?.seconds.toFixed(1)}s, ${rows}` +
          `${report.problems.length ? `\n  ${report.problems.join('\n  ')}` : ''}\n  report: ${path}`,
        report,
      );
      return report.exitCode;
    }
    if (sub === 'backup') {
      const r = await backup(runner, settings, { appVersion: await version(), log }).catch(backupFailed);
      out(`✓ ${r.file}\n  ${r.meta.bytes} bytes, sha256 ${r.meta.sha256}, ${r.meta.tables.length} tables, migration ${r.meta.migration?.latest ?? 'none'}${r.removed.length ? `; retention removed ${r.removed.join(', ')}` : ''}`, r);
      return 0;
    }
    const file = fileArg(rest[1], 'pier db restore <env> <file>');
    const r = await restore(runner, settings, file, { log, force: Boolean(values.force) });
    out(
      `✓ restored ${basename(file)} into ${settings.database} in ${r.seconds.toFixed(1)}s (${r.tables.map((t) => `${t.table} ${t.rows}`).join(', ')}); ` +
        `${r.swapWindowMs} ms without a usable database; role ${r.appRole} checked${r.safetyBackup ? `; safety dump ${r.safetyBackup}` : ''}`,
      r,
    );
    return 0;
  } finally {
    close();
  }
}
