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
import { parseEnvFile } from '../compose/env-file.ts';
import { decryptEnv, findPrivateKey, isEncryptedFile } from '../secrets/encrypted-env.ts';
import { isRef, resolveEnvValues, type SecretRef } from '../secrets/manager.ts';
import { tooShortMessage, tooShortSecrets } from '../secrets/model.ts';
import { checkedEnv, secretsOf } from './runtime-env.ts';
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
  /** What is wrong with the env file for a deploy (syntax, multi-line values, requiredEnv, a missing or wrong key); deploy refuses, other verbs ignore. */
  envIssues: ConfigIssue[];
  /** Secrets still to read from a manager (`env: {NAME: {from}}`): `resolveManagerSecrets` at deploy time. */
  envPending?: PendingEnv;
  /** Who is deploying (`user@machine`). */
  by: string;
  /** Names of the hosts the web role runs on (behind the proxy, HTTP health); [] when the app has no web role. */
  webHosts: string[];
  /** The other roles (worker, scheduler...), in deploy order relative to web: see `roleOrder`. */
  roles: RoleSpec[];
  /** Every role's name in the order a deploy moves them ('web' included when the app has it). */
  roleOrder: string[];
  /** The loaded configuration, for hooks that need more than the above (the pre-migration backup). */
  config?: Config;
  /** HTTPS on every host's proxy (proxy.tls); undefined: plain HTTP. */
  tls?: EnvironmentConfig['proxy']['tls'];
  /** proxy.logs: the proxy's log rotation (defaults when absent). */
  proxyLogs?: EnvironmentConfig['proxy']['logs'];
}

/** A non-web role as a deploy runs it. */
export interface RoleSpec {
  name: string;
  hosts: string[];
  command?: string[];
  env: Record<string, string>;
  stopSignal: string;
  drainSeconds: number;
  health?: { command: string[]; timeoutSeconds: number; intervalSeconds: number };
}

/**
 * roles: + roleOrder: -> web hosts, the other roles, the order (pure). Without roles: only web on
 * every host. Host names a role lists must be in hosts; roleOrder must name every role once.
 */
export function resolveRoles(env: Pick<EnvironmentConfig, 'roles' | 'roleOrder'>, hostNames: string[], file: string): { webHosts: string[]; roles: RoleSpec[]; roleOrder: string[] } {
  const roles = env.roles ?? { web: {} as NonNullable<EnvironmentConfig['roles']>[string] };
  const issues: ConfigIssue[] = [];
  const hostsOf = (name: string, hosts?: string[]) => {
    for (const [i, h] of (hosts ?? []).entries()) if (!hostNames.includes(h)) issues.push({ file, path: `roles.${name}.hosts[${i}]`, message: `expected a host name from hosts (${hostNames.join(', ')}), got "${h}"` });
    return hosts ?? hostNames;
  };
  const webHosts = roles.web ? hostsOf('web', roles.web.hosts) : [];
  const others: RoleSpec[] = Object.entries(roles).filter(([n]) => n !== 'web').map(([name, r]) => ({
    name, hosts: hostsOf(name, r.hosts), ...(r.command ? { command: r.command } : {}), env: r.env ?? {}, stopSignal: r.stopSignal ?? 'SIGTERM', drainSeconds: r.drainSeconds ?? 30,
    ...(r.health ? { health: { command: r.health.command, timeoutSeconds: r.health.timeoutSeconds ?? 60, intervalSeconds: r.health.intervalSeconds ?? 1 } } : {}),
  }));
  const names = Object.keys(roles);
  let order = [...(roles.web ? ['web'] : []), ...others.map((r) => r.name)];
  if (env.roleOrder) {
    const missing = names.filter((n) => !env.roleOrder!.includes(n));
    const unknown = env.roleOrder.filter((n) => !names.includes(n));
    if (missing.length || unknown.length) issues.push({ file, path: 'roleOrder', message: `expected every role once (${names.join(', ')})${missing.length ? `; missing ${missing.join(', ')}` : ''}${unknown.length ? `; not a role: ${unknown.join(', ')}` : ''}` });
    else order = env.roleOrder;
  }
  if (!names.length) issues.push({ file, path: 'roles', message: 'expected at least one role (web, or a worker)' });
  if (issues.length) throw new ConfigError(issues);
  return { webHosts, roles: order.filter((n) => n !== 'web').map((n) => others.find((r) => r.name === n)!), roleOrder: order };
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
  const runtime = runtimeEnvOf(env, root);
  const roles = resolveRoles(env, hosts.map((h) => h.name), envFileLabel);
  for (const [name, a] of Object.entries(env.accessories ?? {})) {
    if (!hosts.some((h) => h.name === a.host)) throw new ConfigError([{ file: envFileLabel, path: `accessories.${name}.host`, message: `expected a host name from hosts (${hosts.map((h) => h.name).join(', ')}), got "${a.host}"` }]);
  }
  return {
    ...roles,
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
    tls: env.proxy.tls,
    proxyLogs: env.proxy.logs,
    parallel: ssh.parallel,
    envFileContent: runtime.content,
    envIssues: runtime.issues,
    envPending: runtime.pending,
    by: opts.by ?? performer(),
    config: cfg,
  };
}

/**
 * The target narrowed to the hosts running web (behind a proxy, with web records): what the
 * verbs that look at what an environment serves (checks, guard, timeline, maintenance) work on.
 */
export function webTarget(target: DeployTarget): DeployTarget {
  return { ...target, hosts: target.hosts.filter((h) => target.webHosts.includes(h.name)) };
}

/** Who runs pier: `PIER_DEPLOYER` or the OS user, at this machine (audit lines, notifications). */
export function performer(): string {
  return `${safeUser()}@${hostname()}`;
}

function safeUser(): string {
  try {
    return process.env.PIER_DEPLOYER ?? userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Runtime variables known before the deploy and the manager references still to read. */
export interface PendingEnv {
  vars: Record<string, string>;
  lines: Record<string, number>;
  refs: Record<string, SecretRef>;
  file: string;
  required: Record<string, string>;
}

/**
 * The app's runtime env: the env file (decrypted when it is encrypted), then the environment's
 * `env:` values over it. Secret values (by the model: `secrets:`, names, URL passwords, encrypted
 * and manager-read values) are registered for redaction here, before anything prints.
 */
function runtimeEnvOf(env: NonNullable<Config['env']>, root: string): { content?: string; issues: ConfigIssue[]; pending?: PendingEnv } {
  const label = `environments/${env.name}.yaml`;
  const extra = env.env ?? {};
  const refs = Object.fromEntries(Object.entries(extra).filter(([, v]) => isRef(v))) as Record<string, SecretRef>;
  const plainExtra = Object.fromEntries(Object.entries(extra).filter(([, v]) => !isRef(v))) as Record<string, string>;
  let vars: Record<string, string> = {};
  let lines: Record<string, number> = {};
  const issues: ConfigIssue[] = [];
  let declared = [...(env.secrets ?? []), ...Object.keys(refs)];
  let file = label;
  if (env.envFile) {
    const f = expand(env.envFile, root);
    if (!existsSync(f)) throw new ConfigError([{ file: label, path: 'envFile', message: `${env.envFile} does not exist (copy ${env.envFile}.example and fill it in)` }]);
    file = env.envFile;
    const parsed = parseEnvFile(readFileSync(f, 'utf8'), env.envFile);
    issues.push(...parsed.issues);
    lines = parsed.lines;
    if (isEncryptedFile(parsed)) {
      const d = decryptEnv(parsed, env.name, findPrivateKey(root, env.name));
      issues.push(...d.issues);
      vars = d.vars;
      declared = [...declared, ...d.encrypted];
    } else vars = parsed.vars;
  } else if (!Object.keys(extra).length) {
    if (Object.keys(env.requiredEnv).length) issues.push({ file: label, path: 'envFile', message: `expected an env file setting ${Object.keys(env.requiredEnv).join(', ')} (requiredEnv)` });
    return { issues };
  }
  vars = { ...vars, ...plainExtra };
  // A 1-2 character secret cannot be redacted (redact.ts skips it): refused here, before anything prints or connects.
  for (const k of tooShortSecrets(vars, declared)) {
    const message = `environment "${env.name}": the value has ${tooShortMessage(vars[k]!.length)}`;
    issues.push(k in plainExtra ? { file: label, path: `env.${k}`, message } : { file, line: lines[k], col: 1, path: k, message });
  }
  for (const s of secretsOf(vars, declared)) registerSecret(s);
  if (Object.keys(refs).length) {
    // The required check waits for the manager's values (deploy time).
    return { issues, pending: { vars, lines, refs, file, required: env.requiredEnv } };
  }
  const checked = checkedEnv(vars, lines, file, env.requiredEnv);
  return { content: checked.dockerEnvFile, issues: [...issues, ...checked.issues] };
}

/**
 * Read the manager-sourced secrets of `target` (deploy only: the emergency verbs never run them)
 * and complete its env file. Throws (exit 2/3, naming env and variable) when a command fails.
 */
export async function resolveManagerSecrets(target: DeployTarget): Promise<DeployTarget> {
  const p = target.envPending;
  if (!p) return target;
  const fromManager = await resolveEnvValues(target.envName, p.refs, `environments/${target.envName}.yaml`);
  const vars = { ...p.vars, ...fromManager.vars };
  const checked = checkedEnv(vars, p.lines, p.file, p.required);
  return { ...target, envFileContent: checked.dockerEnvFile, envIssues: [...target.envIssues, ...checked.issues], envPending: undefined };
}
