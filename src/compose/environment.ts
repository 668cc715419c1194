/**
 * From a loaded environment (environments/<env>.yaml) to a compose project: its files, its env
 * files checked against `requiredEnv`, its project name. Validation happens here, before any
 * container exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { ConfigError, UsageError, type ConfigIssue } from '../util/errors.ts';
import { registerSecret } from '../util/redact.ts';
import { secretValues } from '../secrets/model.ts';
import { isEncryptedFile } from '../secrets/encrypted-env.ts';
import { machineFile } from '../machine/machine-file.ts';
import type { ComposeTarget } from './commands.ts';
import { checkRequired, parseEnvFile, type EnvFile } from './env-file.ts';

export interface EnvStackOptions {
  /** Compose project name (default `<app>-<env>`). Tests pass a unique one. */
  project?: string;
  /** Env file instead of the environment's `envFile` (relative to cwd). */
  envFile?: string;
  profiles?: string[];
  cwd?: string;
  /**
   * Check the env file against `requiredEnv` (default true). `down`, `status` and `logs` pass
   * false: stopping or inspecting a stack must not depend on a complete env file.
   */
  validate?: boolean;
}

export interface EnvStack {
  name: string;
  target: ComposeTarget;
  /** The environment's env file, parsed (undefined when it does not exist and none is required). */
  envFile?: EnvFile;
}

/**
 * `<app>-<env>` (`example-api-staging`): one project per app and environment, so two apps' stacks
 * on one machine never share containers or networks. Compose project names allow lowercase
 * letters, digits, `-` and `_`.
 */
export function projectName(app: string, env: string): string {
  return `${app}-${env}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
}

/**
 * Resolve and validate an environment's compose project. Throws ConfigError (exit 2) naming the
 * file, line and variable for a missing, malformed or invalid env file, before anything starts.
 */
export function resolveEnvStack(cfg: Config, opts: EnvStackOptions = {}): EnvStack {
  const env = cfg.env;
  if (!env) throw new UsageError('an environment name is required (environments/<name>.yaml)');
  const cwd = opts.cwd ?? process.cwd();
  const validate = opts.validate ?? true;
  const display = (f: string) => {
    const r = relative(cwd, f);
    return r && !r.startsWith('..') ? r : f;
  };
  if (!env.compose.length) {
    throw new UsageError(`environment "${env.name}" has no compose files (environments/${env.name}.yaml: compose); it is not a Compose environment`);
  }
  const files = env.compose.map((f) => (isAbsolute(f) ? f : resolve(cfg.root, f)));
  const issues: ConfigIssue[] = files.filter((f) => !existsSync(f)).map((f) => ({ file: display(env.file), path: 'compose', message: `compose file not found: ${display(f)}` }));

  const envPath = opts.envFile ? resolve(cwd, opts.envFile) : env.envFile ? resolve(cfg.root, env.envFile) : undefined;
  let envFile: EnvFile | undefined;
  if (envPath && existsSync(envPath)) {
    envFile = parseEnvFile(readFileSync(envPath, 'utf8'), display(envPath));
    if (validate) issues.push(...envFile.issues, ...checkRequired(envFile, env.requiredEnv));
    for (const v of secretValues(envFile.vars, env.secrets)) registerSecret(v);
    // docker compose would read the ciphertext as the value: encrypted files are for pier deploy.
    if (isEncryptedFile(envFile)) issues.push({ file: display(envPath), path: '', message: `environment "${env.name}": encrypted env files are read by pier deploy only; pier env needs a plaintext (git-ignored) env file` });
  } else if (validate && Object.keys(env.requiredEnv).length) {
    const example = `${env.envFile ?? `environments/${env.name}.env`}.example`;
    issues.push({
      file: envPath ? display(envPath) : display(env.file),
      path: envPath ? '' : 'envFile',
      message: `env file not found: expected ${Object.keys(env.requiredEnv).join(', ')} (copy ${example} and fill it in)`,
    });
  }
  if (issues.length) throw new ConfigError(issues);

  // Image stand-ins: the machine file (`pier setup`) under the repo's .env under the environment's
  // env file; compose lets later --env-files win and the process environment win over all.
  const machine = machineFile();
  const rootEnv = resolve(cfg.root, '.env');
  return {
    name: env.name,
    envFile,
    target: {
      project: opts.project ?? projectName(cfg.app.name, env.name),
      files,
      envFiles: [...[machine, rootEnv].filter((f) => existsSync(f)), ...(envFile && envPath ? [envPath] : [])],
      profiles: opts.profiles ?? [],
    },
  };
}
