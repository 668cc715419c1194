import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/schema.ts';
import { ConfigError, UsageError } from '../../../src/util/errors.ts';
import { projectName, resolveEnvStack } from '../../../src/compose/environment.ts';
import { redact } from '../../../src/util/redact.ts';

const root = mkdtempSync(join(tmpdir(), 'pier-envstack-'));
mkdirSync(join(root, 'compose'));
mkdirSync(join(root, 'environments'));
writeFileSync(join(root, 'compose', 'staging.yaml'), 'services: {}\n');
writeFileSync(join(root, '.env'), 'PIER_NODE_IMAGE=local/node\n');
// The per-user machine file (pier setup) is looked up under XDG_CONFIG_HOME: a private one here.
process.env.XDG_CONFIG_HOME = join(root, 'xdg');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function cfg(env: Partial<NonNullable<Config['env']>> = {}): Config {
  return {
    root,
    app: { name: 'shop' },
    env: { name: 'staging', file: join(root, 'environments', 'staging.yaml'), compose: ['compose/staging.yaml'], envFile: 'environments/staging.env', requiredEnv: { POSTGRES_PASSWORD: '[a-z0-9]{16,}' }, ...env },
  } as unknown as Config;
}

describe('resolveEnvStack', () => {
  it('builds the compose target: root .env first, then the environment env file', () => {
    const envFile = join(root, 'environments', 'staging.env');
    writeFileSync(envFile, 'POSTGRES_PASSWORD=abcdefghijklmnop99\n');
    const s = resolveEnvStack(cfg(), { cwd: root });
    expect(s.target).toEqual({ project: 'shop-staging', files: [join(root, 'compose/staging.yaml')], envFiles: [join(root, '.env'), envFile], profiles: [] });
    // secret-looking variables from the env file are redacted from now on
    expect(redact('pw abcdefghijklmnop99')).toBe('pw ***');
    rmSync(envFile);
  });

  it('the machine file written by pier setup comes first, under the repo .env and the env file', () => {
    const envFile = join(root, 'environments', 'staging.env');
    writeFileSync(envFile, 'POSTGRES_PASSWORD=abcdefghijklmnop99\n');
    const machine = join(root, 'xdg', 'pier', 'machine.env');
    mkdirSync(join(root, 'xdg', 'pier'), { recursive: true });
    writeFileSync(machine, 'PIER_REGISTRY_IMAGE=pier.local/registry:2\n');
    try {
      expect(resolveEnvStack(cfg(), { cwd: root }).target.envFiles).toEqual([machine, join(root, '.env'), envFile]);
    } finally {
      rmSync(join(root, 'xdg'), { recursive: true, force: true });
      rmSync(envFile);
    }
  });

  it('exit 2 before anything starts: missing env file names the file, the variables and the example', () => {
    const err = (() => {
      try {
        resolveEnvStack(cfg(), { cwd: root });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('invalid configuration: environments/staging.env: env file not found: expected POSTGRES_PASSWORD (copy environments/staging.env.example and fill it in)');
  });

  it('exit 2 on an invalid value, located at its line', () => {
    const bad = join(root, 'bad.env');
    writeFileSync(bad, '# x\nPOSTGRES_PASSWORD=Short\n');
    expect(() => resolveEnvStack(cfg(), { cwd: root, envFile: 'bad.env' })).toThrow('invalid configuration: bad.env:2:1: POSTGRES_PASSWORD: invalid value (not shown, 5 characters): expected a value matching /^(?:[a-z0-9]{16,})$/');
  });

  it('down/status/logs (validate: false) work without a complete env file', () => {
    expect(resolveEnvStack(cfg(), { cwd: root, validate: false, project: 'pier-t-1' }).target.project).toBe('pier-t-1');
  });

  it('rejects environments without compose files (usage) and missing compose files (config)', () => {
    expect(() => resolveEnvStack(cfg({ name: 'production', compose: [] }), { cwd: root })).toThrow(UsageError);
    expect(() => resolveEnvStack(cfg({ compose: ['compose/nope.yaml'], requiredEnv: {} }), { cwd: root })).toThrow(/compose: compose file not found: .*compose\/nope.yaml/);
  });

  it('project names are <app>-<env>, valid compose names: two apps never share a project', () => {
    expect(projectName('shop', 'Staging.EU')).toBe('shop-staging-eu');
    expect(projectName('shop', 'dev')).not.toBe(projectName('blog', 'dev'));
  });
});
