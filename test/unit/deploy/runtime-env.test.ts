/** The deploy's env file (issue 11, defects 4 and 5) and the shared --lock-wait check (defect 6). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { deploy } from '../../../src/deploy/deploy.ts';
import { parseLockWait } from '../../../src/deploy/lock.ts';
import { parseCurrent, parseReleaseLog } from '../../../src/deploy/records.ts';
import { runtimeEnv, secretsOf } from '../../../src/deploy/runtime-env.ts';
import { resolveTarget } from '../../../src/deploy/target.ts';
import { ConfigError, UsageError } from '../../../src/util/errors.ts';
import { redact } from '../../../src/util/redact.ts';

describe('runtime env file for docker --env-file', () => {
  it('normalises quotes, export and comments the way `pier env` reads them', () => {
    const e = runtimeEnv(['# comment', 'export A=1', 'DATABASE_URL="postgres://api:pw@db/api"', "B='x y'", 'KEY=abc # trailing comment', 'EMPTY=', ''].join('\n'), 'environments/production.env');
    expect(e.issues).toEqual([]);
    expect(e.dockerEnvFile).toBe('A=1\nDATABASE_URL=postgres://api:pw@db/api\nB=x y\nKEY=abc\nEMPTY=\n');
  });
  it('rejects what docker cannot carry (multi-line values) with file:line, and malformed lines', () => {
    const e = runtimeEnv(['OK=1', 'CERT="line1\\nline2"', 'not a variable', 'Q="unterminated'].join('\n'), 'environments/production.env');
    expect(e.issues.map((i) => `${i.file}:${i.line}:${i.path}`)).toEqual(['environments/production.env:3:', 'environments/production.env:4:Q', 'environments/production.env:2:CERT']);
    expect(e.issues[2]!.message).toMatch(/multi-line value/);
    // Values never appear in issues.
    expect(JSON.stringify(e.issues)).not.toContain('line1');
  });
  it('checks required variables, naming them', () => {
    const e = runtimeEnv('A=1\nPORT=abc\n', 'prod.env', { DATABASE_URL: 'postgres://.+', PORT: '\\d+' });
    expect(e.issues.map((i) => `${i.path}: ${i.message.split(':')[0]}`)).toEqual(['DATABASE_URL: missing', 'PORT: invalid value (not shown, 3 characters)']);
  });
  it('secrets: a URL password with a malformed escape is registered as written, never decoded with an error', () => {
    expect(() => secretsOf({ DATABASE_URL: 'postgres://api:50%off@db/api' })).not.toThrow();
    expect(secretsOf({ DATABASE_URL: 'postgres://api:50%off@db/api' })).toContain('50%off');
    expect(secretsOf({ U: 'postgres://api:p%40ss@db/api' })).toEqual(['p%40ss', 'p@ss']);
  });
});

function project(envFile: string, envYaml = ''): string {
  const root = mkdtempSync(join(tmpdir(), 'pier-renv-'));
  mkdirSync(join(root, 'environments'));
  writeFileSync(join(root, 'pier.yaml'), 'app:\n  name: api\n  image: acme/api\n  port: 3000\n  test:\n    command: [npm, test]\n');
  writeFileSync(join(root, 'environments', 'production.yaml'), `envFile: environments/production.env\nhosts:\n  - { name: web1, address: 10.0.0.1 }\n${envYaml}`);
  writeFileSync(join(root, 'environments', 'production.env'), envFile);
  return join(root, 'pier.yaml');
}
const target = (file: string) => resolveTarget(loadConfig({ configFile: file, env: 'production', vars: {} }), { by: 't' });

describe('deploy target and the env file', () => {
  it('DATABASE_URL=postgres://api:50%off@db/api: no URIError for any verb, the password still redacted', () => {
    const t = target(project('DATABASE_URL=postgres://api:50%off@db/api\n'));
    expect(t.envIssues).toEqual([]);
    expect(t.envFileContent).toBe('DATABASE_URL=postgres://api:50%off@db/api\n');
    expect(redact('connect failed: password 50%off')).not.toContain('50%off');
  });
  it('deploy refuses a bad env file before contacting any host (exit 2, file:line); other verbs resolve', async () => {
    const t = target(project('GOOD=1\nCERT="a\\nb"\n', 'requiredEnv: { DATABASE_URL: "postgres://.+" }\n'));
    expect(t.envIssues).toHaveLength(2);
    const d = deploy(t, { version: 'v1' });
    await expect(d).rejects.toThrow(ConfigError);
    await expect(d).rejects.toThrow(/environments\/production\.env:2:1: CERT: multi-line value[\s\S]*DATABASE_URL: missing/);
    expect(((await d.catch((e: unknown) => e)) as ConfigError).exitCode).toBe(2);
  });
});

describe('--lock-wait (deploy and rollback)', () => {
  it('accepts seconds, refuses anything else with exit 2', () => {
    expect(parseLockWait(undefined)).toBe(0);
    expect(parseLockWait('30')).toBe(30);
    expect(parseLockWait('0.5')).toBe(0.5);
    for (const bad of ['abc', '-1', '', 'Infinity', '1e999']) {
      expect(() => parseLockWait(bad)).toThrow(UsageError);
      expect(() => parseLockWait(bad)).toThrow(/--lock-wait: expected a number of seconds/);
    }
  });
});

describe('records read for decisions', () => {
  it('current.json: a truncated file is an error saying so, an empty one is no record', () => {
    expect(parseCurrent('')).toBeUndefined();
    expect(parseCurrent('{"version":"v1","image":"i","container":"c","since":"s","by":"b","run":"r"}\n')?.version).toBe('v1');
    expect(() => parseCurrent('{"version":"v1","ima')).toThrow(/not valid JSON \(20 bytes; truncated\?\)/);
    expect(() => parseCurrent('[1]')).toThrow(/expected an object with version, image and container/);
  });
  it('releases.jsonl: malformed lines are numbered', () => {
    const r = parseReleaseLog('{"version":"v1","event":"deployed"}\nnot json\n\n{"version":"v2","event":"deployed"}\n{"x":1}\n');
    expect(r.records.map((x) => x.version)).toEqual(['v1', 'v2']);
    expect(r.bad).toEqual([2, 5]);
  });
});
