import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { backup, listBackups, restore, verifyBackup } from '../db/backup.ts';
import { backupConfigOf, dbSettings, openRunner } from '../db/target.ts';
import { exec } from '../util/exec.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';

export const summary = 'database backups: backup <env> | restore <env> <file> | verify <file> | list <env>';

export const help = `Usage: pier db backup <env> [--app-version V] [--config FILE] [--json]
       pier db restore <env> <file> [--config FILE] [--json]
       pier db verify <file> [--json]
       pier db list <env> [--config FILE]

backup   pg_dump (custom format) of the environment's database (environments/<env>.yaml: backup),
         test-restored into a scratch database to record per-table row counts and checksums and
         the migration level; kept in backup.dir/<env> with a sha256 and metadata (.json);
         only the newest backup.keep are kept.
restore  verify the file, restore it into a scratch database, compare row counts and checksums
         with its metadata, and only then swap it in place of the live database.
verify   check a backup file against its metadata (size, sha256, format); refuses a corrupted one.

Exit: 0 ok; 1 corrupted backup or restored data differs (live database untouched);
2 bad usage or config; 3 database unreachable.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, 'app-version': { type: 'string' } });
  const [sub, ...rest] = positionals;
  if (values.help || !sub) return console.log(help), values.help ? 0 : 2;
  const out = (human: string, data: unknown) => (values.json ? console.log(JSON.stringify(data, null, 2)) : console.error(human));
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
  if (!['backup', 'restore', 'list'].includes(sub)) throw new UsageError(`unknown db command "${sub}"`, 'pier db backup|restore|verify|list');
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
  const { runner, close } = await openRunner(cfg, b);
  try {
    if (sub === 'backup') {
      const version = values['app-version'] ?? (await exec(['git', 'rev-parse', '--short', 'HEAD'], { cwd: cfg.root, nothrow: true })).stdout.trim() ?? 'unknown';
      const r = await backup(runner, settings, { appVersion: version || 'unknown', log });
      out(`✓ ${r.file}\n  ${r.meta.bytes} bytes, sha256 ${r.meta.sha256}, ${r.meta.tables.length} tables, migration ${r.meta.migration?.latest ?? 'none'}${r.removed.length ? `; retention removed ${r.removed.join(', ')}` : ''}`, r);
      return 0;
    }
    const file = fileArg(rest[1], 'pier db restore <env> <file>');
    const r = await restore(runner, settings, file, { log });
    out(`✓ restored ${basename(file)} into ${settings.database} in ${r.seconds.toFixed(1)}s (${r.tables.map((t) => `${t.table} ${t.rows}`).join(', ')})`, r);
    return 0;
  } finally {
    close();
  }
}
