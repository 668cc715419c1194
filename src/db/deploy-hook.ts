/**
 * Data safety in the deploy: a verified backup before every migration. When it fails the deploy
 * stops before migrating (nothing has changed on any host yet).
 */
import type { HostSession } from '../deploy/executor.ts';
import type { Progress } from '../deploy/progress.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { GateError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import { backup } from './backup.ts';
import { dbSettings, openRunner } from './target.ts';

/** The pre-migration backup failed; the deploy refuses to migrate. */
export class BackupBeforeMigrateError extends GateError {}

/**
 * Back up the environment's database if `backup.beforeMigrate` is on (a no-op without a backup
 * section). `serving` is the release on the hosts now (the data is at its migration level).
 */
export async function backupBeforeMigrate(target: DeployTarget, serving: string | undefined, progress: Progress, sessions: readonly HostSession[]): Promise<string | undefined> {
  const cfg = target.config;
  const b = cfg?.env?.backup;
  if (!cfg || !b || !b.beforeMigrate) return undefined;
  const label = b.via === 'ssh' ? (b.host ?? target.hosts[0]!.name) : 'database';
  progress.step(label, 'backup', `before migrating (${b.via})`);
  try {
    const { runner, close } = await openRunner(cfg, b, sessions);
    try {
      const r = await backup(runner, dbSettings(target.envName, b, target.root), { appVersion: serving ?? 'none', reason: 'before-migrate' });
      progress.step(label, 'backup', `${r.file} (${r.meta.bytes} bytes, ${r.meta.tables.length} tables, sha256 ${r.meta.sha256.slice(0, 12)}…)`);
      return r.file;
    } finally {
      close();
    }
  } catch (e) {
    throw new BackupBeforeMigrateError(`pre-migration backup failed, refusing to migrate: ${redact((e as Error).message)}`);
  }
}
