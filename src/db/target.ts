/**
 * Resolve an environment's `backup:` section into settings and a runner: where PostgreSQL runs
 * (local container, compose service, container on a host over SSH) and where backups are kept.
 */
import { isAbsolute, join } from 'node:path';
import type { Config, EnvironmentConfig } from '../config/schema.ts';
import { resolveEnvStack } from '../compose/environment.ts';
import { openHost, type HostSession } from '../deploy/executor.ts';
import type { SshTarget } from '../deploy/ssh.ts';
import { resolveTarget } from '../deploy/target.ts';
import { accessoryContainer } from '../deploy/commands/accessory.ts';
import { ConfigError, UsageError } from '../util/errors.ts';
import type { DbSettings } from './backup.ts';
import { composeService, localContainer, sshContainer, type DbRunner } from './runner.ts';

export type BackupConfig = NonNullable<EnvironmentConfig['backup']>;

/** Settings of `env`'s backups; `dir` is made absolute under the project root, per environment. */
export function dbSettings(envName: string, b: BackupConfig, root: string): DbSettings {
  const base = isAbsolute(b.dir) ? b.dir : join(root, b.dir);
  return { env: envName, database: b.database, user: b.user, dir: join(base, envName), keep: b.keep, rpoMinutes: b.rpoMinutes, ...(b.appRole ? { appRole: b.appRole } : {}) };
}

/** The environment's backup section, or a config error naming the file. */
export function backupConfigOf(cfg: Config): BackupConfig {
  const env = cfg.env;
  if (!env) throw new UsageError('an environment is required, e.g. pier db backup staging');
  if (!env.backup) throw new ConfigError([{ file: `environments/${env.name}.yaml`, path: 'backup', message: 'expected a backup section (via, database, ...) to back up this environment' }]);
  return env.backup;
}

/** A database host outside `hosts` (not deployed to): `user@address[:port]`, same SSH key and known_hosts. */
export function separateHost(spec: string): SshTarget | undefined {
  const m = /^([^@\s]+)@([^:\s]+)(?::(\d+))?$/.exec(spec);
  return m ? { name: m[2]!, user: m[1]!, address: m[2]!, port: Number(m[3] ?? 22) } : undefined;
}

/**
 * A runner for `b`. With `via: ssh` it connects to the database host (`sessions` lets the deploy
 * reuse its open connections); `close` ends only what this function opened.
 */
export async function openRunner(cfg: Config, b: BackupConfig, sessions: readonly HostSession[] = []): Promise<{ runner: DbRunner; close(): void }> {
  if (b.via === 'docker') return { runner: localContainer(b.container!), close: () => undefined };
  if (b.via === 'compose') return { runner: await composeService(resolveEnvStack(cfg, { validate: false }).target, b.service!), close: () => undefined };
  const t = resolveTarget(cfg);
  // backup.accessory: the accessory pier runs (its container on its host).
  const acc = b.accessory ? cfg.env?.accessories?.[b.accessory] : undefined;
  if (b.accessory && !acc) throw new ConfigError([{ file: `environments/${t.envName}.yaml`, path: 'backup.accessory', message: `expected the name of an accessory (${Object.keys(cfg.env?.accessories ?? {}).join(', ') || 'none defined'}), got "${b.accessory}"` }]);
  const container = acc ? accessoryContainer(t.app, b.accessory!) : b.container!;
  const name = acc ? acc.host : b.host ?? t.hosts[0]?.name;
  const open = sessions.find((s) => s.name === name);
  if (open) return { runner: sshContainer(open, container), close: () => undefined };
  const host = t.hosts.find((h) => h.name === name) ?? (name ? separateHost(name) : undefined);
  if (!host) throw new ConfigError([{ file: `environments/${t.envName}.yaml`, path: 'backup.host', message: `expected the name of a host in hosts (${t.hosts.map((h) => h.name).join(', ')}) or user@address[:port], got "${name}"` }]);
  const session = await openHost(host, t.auth);
  return { runner: sshContainer(session, container), close: () => session.close() };
}
