// Secrets from a manager at deploy time, with stand-in executables for `op` & co. that print a
// value, fail, hang, or print nothing; argv only (no shell), bounded by the timeout.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { resolveManagerSecrets, resolveTarget } from '../../../src/deploy/target.ts';
import { readSecret } from '../../../src/secrets/manager.ts';
import { ConfigError, EnvironmentError } from '../../../src/util/errors.ts';
import { clearSecrets, redact } from '../../../src/util/redact.ts';

const CANARY = 'mgr-canary-9d8c7b6a';
const bin = mkdtempSync(join(tmpdir(), 'pier-mgr-bin-'));
const tool = (name: string, body: string) => {
  const f = join(bin, name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return f;
};
// `op read op://prod/db/password` stand-in: prints the value only for the right reference.
const op = tool('op', `[ "$1" = read ] && [ "$2" = "op://prod/db/password" ] && { echo ${CANARY}; exit 0; }\necho "[ERROR] could not read secret $2: not signed in" >&2; exit 1`);
const failing = tool("failing", `echo "${CANARY}"\necho "denied: not signed in" >&2\nexit 3`);
const hanging = tool('hanging', 'sleep 30');
const silent = tool('silent', 'exit 0');
const args = tool('args', 'printf "%s|" "$@"');

beforeEach(() => clearSecrets());

describe('readSecret', () => {
  it('prints a value: trailing newline removed, registered for redaction', async () => {
    expect(await readSecret('production', 'DB_PASSWORD', { from: [op, 'read', 'op://prod/db/password'], timeoutSeconds: 5 }, 'environments/production.yaml: env.DB_PASSWORD')).toBe(CANARY);
    expect(redact(`pw ${CANARY}`)).toBe('pw ***');
  });
  it('argv reaches the program as written: no shell, no splitting or expansion', async () => {
    expect(await readSecret('production', 'X', { from: [args, 'a b', '$HOME', '`id`;ls'], timeoutSeconds: 5 }, 'f: env.X')).toBe('a b|$HOME|`id`;ls|');
  });
  it('fails: exit 3 naming the env, the variable and the program; nothing it printed is shown', async () => {
    const e = await readSecret('production', 'DB_PASSWORD', { from: [failing], timeoutSeconds: 5 }, 'environments/production.yaml: env.DB_PASSWORD').catch((x: Error) => x);
    expect(e).toBeInstanceOf(EnvironmentError);
    expect((e as Error).message).toContain('environment "production": environments/production.yaml: env.DB_PASSWORD: secret manager command');
    expect((e as Error).message).toContain('failed with exit code 3: denied: not signed in');
    expect((e as Error).message).not.toContain(CANARY);
  });
  it('hangs: killed at the timeout, exit 3, within bounded time', async () => {
    const t0 = Date.now();
    const e = await readSecret('production', 'DB_PASSWORD', { from: [hanging], timeoutSeconds: 1 }, 'f: env.DB_PASSWORD').catch((x: Error) => x);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(e).toBeInstanceOf(EnvironmentError);
    expect((e as Error).message).toMatch(/did not finish within 1s and was killed/);
  });
  it('prints nothing: exit 2 naming the variable', async () => {
    const e = await readSecret('production', 'DB_PASSWORD', { from: [silent], timeoutSeconds: 5 }, 'environments/production.yaml: env.DB_PASSWORD').catch((x: Error) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain('env.DB_PASSWORD: environment "production": secret manager command');
    expect((e as Error).message).toContain('printed nothing');
  });
  it('not installed: exit 3 saying so', async () => {
    const e = await readSecret('production', 'DB_PASSWORD', { from: [join(bin, 'no-such-op')], timeoutSeconds: 5 }, 'f: env.DB_PASSWORD').catch((x: Error) => x);
    expect(e).toBeInstanceOf(EnvironmentError);
    expect((e as Error).message).toContain('not found on PATH');
  });
});

describe('in the deploy target', () => {
  it('env: values and { from } references complete the env file at deploy time; requiredEnv is checked after', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pier-mgr-'));
    mkdirSync(join(root, 'environments'));
    writeFileSync(join(root, 'pier.yaml'), 'app:\n  name: api\n  image: acme/api\n  port: 3000\n  test:\n    command: [npm, test]\n');
    writeFileSync(join(root, 'environments/production.env'), 'LOG_LEVEL=info\n');
    writeFileSync(join(root, 'environments/production.yaml'), [
      'envFile: environments/production.env',
      'requiredEnv: { DB_PASSWORD: ".{8,}", REGION: "eu|us" }',
      'env:',
      '  REGION: eu',
      `  DB_PASSWORD: { from: [${op}, read, "op://prod/db/password"], timeoutSeconds: 5 }`,
      'hosts:',
      '  - { name: web1, address: 10.0.0.1 }',
      '',
    ].join('\n'));
    const t = resolveTarget(loadConfig({ configFile: join(root, 'pier.yaml'), env: 'production', vars: {} }));
    // Nothing ran yet: status and rollback never call the manager.
    expect(t.envFileContent).toBeUndefined();
    expect(t.envPending?.refs.DB_PASSWORD?.from[0]).toBe(op);
    const r = await resolveManagerSecrets(t);
    expect(r.envIssues).toEqual([]);
    expect(r.envFileContent).toBe(`LOG_LEVEL=info\nREGION=eu\nDB_PASSWORD=${CANARY}\n`);
    expect(redact(`${CANARY} eu info`)).toBe('*** eu info');
  });
});
