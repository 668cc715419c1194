/**
 * Resolve a loaded configuration into what a deploy needs: hosts, SSH auth, image names, the
 * app's runtime env file. Reads local files (key, known_hosts, env file); nothing remote.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo, hostname } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { Config, EnvironmentConfig } from '../config/schema.ts';
import { ConfigError, UsageError, type ConfigIssue } from '../util/errors.ts';
import { registerSecret } from '../util/redact.ts';
import { runtimeEnv, secretsOf } from './runtime-env.ts';
import { appVolumes } from './commands/docker.ts';
import type { SshAuth, SshTarget } from './ssh.ts';

export interface DeployTarget {
  envName: string;
  root: string;
  app: string;
  /** Image repository without tag (app.image). */
  imageRepo: string;
  /** Where hosts pull from; undefined means stream over SSH. */
  registry?: string;
  appPort: number;
  healthPath: string;
  migrate?: string[];
  /** `--volume` values for every release container (app.volumes). */
  volumes?: string[];
  hosts: SshTarget[];
  auth: SshAuth;
  settings: EnvironmentConfig['deploy'];
  parallel: number;
  /**
   * The app's runtime env file, parsed and normalised for `docker run --env-file` (secret:
   * uploaded 0600, never printed).
   */
  envFileContent?: string;
  /** What is wrong with the env file for a deploy (syntax, multi-line values, requiredEnv); deploy refuses, other verbs ignore. */
  envIssues: ConfigIssue[];
  /** Who is deploying (`user@machine`). */
  by: string;
  /** The loaded configuration, for hooks that need more than the above (the pre-migration backup). */
  config?: Config;
}

const expand = (p: string, root: string) => (p.startsWith('~/') ? join(homedir(), p.slice(2)) : isAbsolute(p) ? p : join(root, p));

/**
 * Build the deploy target for `cfg` (loaded with an environment). The env file is parsed here
 * once; its problems are kept in `envIssues`: `deploy` refuses them (exit 2, before any host is
 * contacted), the emergency verbs (rollback, status, lock) do not need the file and ignore them.
 */
export function resolveTarget(cfg: Config, opts: { by?: string } = {}): DeployTarget {
  const env = cfg.env;
  if (!env) throw new UsageError('an environment is required, e.g. pier deploy production');
  const root = dirname(cfg.file);
  const envFileLabel = `environments/${env.name}.yaml`;
  if (env.hosts.length === 0) throw new ConfigError([{ file: envFileLabel, path: 'hosts', message: 'expected at least one host to deploy to' }]);
  const ssh = env.ssh;
  let privateKey: Buffer | undefined;
  if (ssh.keyFile) {
    const f = expand(ssh.keyFile, root);
    if (existsSync(f)) privateKey = readFileSync(f);
    else if (!process.env.SSH_AUTH_SOCK) throw new ConfigError([{ file: envFileLabel, path: 'ssh.keyFile', message: `key file ${f} does not exist and no SSH agent is running (SSH_AUTH_SOCK)` }]);
  }
  const knownHostsFile = ssh.knownHosts ? expand(ssh.knownHosts, root) : undefined;
  const knownHosts = knownHostsFile && existsSync(knownHostsFile) ? readFileSync(knownHostsFile, 'utf8') : knownHostsFile ? '' : undefined;
  const hosts: SshTarget[] = env.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.user, hostKey: h.hostKey }));
  let jump: SshTarget | undefined;
  if (ssh.jumpHost) {
    const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(ssh.jumpHost);
    if (!m) throw new ConfigError([{ file: envFileLabel, path: 'ssh.jumpHost', message: 'expected user@host[:port]' }]);
    jump = { name: `jump(${m[2]})`, user: m[1] ?? 'root', address: m[2]!, port: Number(m[3] ?? 22), hostKey: ssh.jumpHostKey };
  }
  let envFileContent: string | undefined;
  const envIssues: ConfigIssue[] = [];
  if (env.envFile) {
    const f = expand(env.envFile, root);
    if (!existsSync(f)) throw new ConfigError([{ file: envFileLabel, path: 'envFile', message: `${env.envFile} does not exist (copy ${env.envFile}.example and fill it in)` }]);
    const parsed = runtimeEnv(readFileSync(f, 'utf8'), env.envFile, env.requiredEnv);
    for (const s of secretsOf(parsed.vars)) registerSecret(s);
    envIssues.push(...parsed.issues);
    envFileContent = parsed.dockerEnvFile;
  } else if (Object.keys(env.requiredEnv).length) {
    envIssues.push({ file: envFileLabel, path: 'envFile', message: `expected an env file setting ${Object.keys(env.requiredEnv).join(', ')} (requiredEnv)` });
  }
  return {
    envName: env.name,
    root,
    app: cfg.app.name,
    imageRepo: cfg.app.image,
    registry: env.deploy.registry,
    appPort: cfg.app.port,
    healthPath: cfg.app.health.path,
    migrate: cfg.app.migrate?.command,
    volumes: appVolumes(cfg.app.name, cfg.app.volumes),
    hosts,
    auth: {
      privateKey,
      agent: process.env.SSH_AUTH_SOCK,
      knownHosts,
      knownHostsFile,
      connectTimeoutMs: ssh.connectTimeoutSeconds * 1000,
      commandTimeoutMs: ssh.commandTimeoutSeconds * 1000,
      jump,
    },
    settings: env.deploy,
    parallel: ssh.parallel,
    envFileContent,
    envIssues,
    by: opts.by ?? `${safeUser()}@${hostname()}`,
    config: cfg,
  };
}

function safeUser(): string {
  try {
    return process.env.PIER_DEPLOYER ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}
