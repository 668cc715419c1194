// Secret values of 1-2 characters cannot be redacted (masking them would garble ordinary text,
// masking only whole words would leak them): they are refused with exit 2, naming the file and the
// variable, before anything prints or connects; never passed on unredacted.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { resolveTarget } from '../../../src/deploy/target.ts';
import { newKeypair } from '../../../src/secrets/dotenvx.ts';
import { setEncrypted } from '../../../src/secrets/encrypted-env.ts';
import { readSecret } from '../../../src/secrets/manager.ts';
import { tooShortSecrets } from '../../../src/secrets/model.ts';
import { registryAuth } from '../../../src/pipeline/stages/publish.ts';
import { Registry } from '../../../src/config/sections/pipeline.ts';
import { ConfigError, formatIssue } from '../../../src/util/errors.ts';
import { clearSecrets } from '../../../src/util/redact.ts';
import { pierBin } from '../../helpers/pier.ts';

const WHY = 'a secret this short cannot be redacted from output; expected at least 3 characters';

/** A project whose one host is 127.0.0.1:`port` (a listener of this test: any connection is counted). */
function project(port: number, envText: string, envYaml: string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'pier-short-'));
  mkdirSync(join(root, 'environments'));
  writeFileSync(join(root, 'pier.yaml'), 'app:\n  name: api\n  image: acme/api\n  port: 3000\n  test:\n    command: [npm, test]\n');
  writeFileSync(join(root, 'environments/production.env'), envText);
  writeFileSync(join(root, 'environments/production.yaml'), ['envFile: environments/production.env', ...envYaml, 'hosts:', `  - { name: web1, address: 127.0.0.1, port: ${port} }`, ''].join('\n'));
  return root;
}

let host: Server;
let port = 0;
let connections = 0;
beforeAll(async () => {
  host = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  port = (host.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((r) => host.close(() => r())));
beforeEach(() => clearSecrets());

describe('secret values of 1-2 characters are refused', () => {
  it('tooShortSecrets: declared secrets with 1-2 characters; not empty, not 3, not plain config, not a flag that only looks secret', () => {
    const vars = { API_TOKEN: 'ab', DB_PASSWORD: 'x', SMTP_PASSWORD: 'q7!', SESSION_SEED: 'z9', REGION: 'eu', NODE_ENV: 'p', EMPTY_SECRET: '', LOG_SECRETS_ON_START: '1' };
    expect(tooShortSecrets(vars)).toEqual([]);
    expect(tooShortSecrets(vars, ['SESSION_SEED', 'API_TOKEN', 'SMTP_PASSWORD', 'EMPTY_SECRET'])).toEqual(['API_TOKEN', 'SESSION_SEED']);
  });

  it('the deploy target: env file (by line), encrypted values, declared secrets: and env: values, each named; plain config passes', () => {
    const { publicKey, privateKey } = newKeypair();
    let text = 'REGION=eu\nAPI_TOKEN=ab\nSESSION_SEED=z9\nSMTP_PASSWORD=q7!\nLOG_SECRETS_ON_START=1\n';
    text = setEncrypted(text, 'production', publicKey, 'SEED2', 'k1'); // encrypted: a secret whatever its name
    const root = project(port, text, ['secrets: [SESSION_SEED, API_TOKEN, WEBHOOK_SECRET]', 'env:', '  WEBHOOK_SECRET: "y"', '  LANG_CODE: de', '  DISABLE_AUTH: "0"']);
    process.env.DOTENV_PRIVATE_KEY_PRODUCTION = privateKey;
    try {
      const t = resolveTarget(loadConfig({ configFile: join(root, 'pier.yaml'), env: 'production', vars: {} }));
      const lineOf = (name: string) => text.split('\n').findIndex((l) => l.startsWith(`${name}=`)) + 1;
      expect(t.envIssues.map(formatIssue)).toEqual([
        `environments/production.env:${lineOf('API_TOKEN')}:1: API_TOKEN: environment "production": the value has 2 characters: ${WHY}`,
        `environments/production.env:${lineOf('SESSION_SEED')}:1: SESSION_SEED: environment "production": the value has 2 characters: ${WHY}`,
        `environments/production.env:${lineOf('SEED2')}:1: SEED2: environment "production": the value has 2 characters: ${WHY}`,
        `environments/production.yaml: env.WEBHOOK_SECRET: environment "production": the value has 1 character: ${WHY}`,
      ]);
    } finally {
      delete process.env.DOTENV_PRIVATE_KEY_PRODUCTION;
    }
  });

  it('pier deploy: exit 2 naming the file, line and variable, before any host is touched; the value is not shown', () => {
    const root = project(port, 'LOG_LEVEL=info\nAPI_TOKEN=Zq\n', ['secrets: [API_TOKEN]']);
    const before = connections;
    const r = spawnSync(process.execPath, [pierBin, 'deploy', 'production', '--version', '1.0.0'], { cwd: root, env: { ...process.env, DOTENV_PRIVATE_KEY_PRODUCTION: '' }, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`environments/production.env:2:1: API_TOKEN: environment "production": the value has 2 characters: ${WHY}`);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/Zq|API_TOKEN=/);
    expect(connections - before, 'connections to the host').toBe(0);
  });

  it('a secret manager command printing 1-2 characters: exit 2 naming the variable and the program', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'pier-short-bin-'));
    const op = join(bin, 'op');
    writeFileSync(op, '#!/bin/sh\necho Zq\n');
    chmodSync(op, 0o755);
    const e = await readSecret('production', 'DB_PASSWORD', { from: [op, 'read', 'op://prod/db/password'], timeoutSeconds: 5 }, 'environments/production.yaml: env.DB_PASSWORD').catch((x: Error) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toBe(`invalid configuration: environments/production.yaml: env.DB_PASSWORD: environment "production": secret manager command ${op} printed 2 characters: ${WHY}`);
  });

  it('pier secrets set: exit 2, the file is not changed', () => {
    const root = project(port, 'LOG_LEVEL=info\n');
    const r = spawnSync(process.execPath, [pierBin, 'secrets', 'set', 'production', 'API_TOKEN'], { cwd: root, env: { ...process.env, DOTENV_PRIVATE_KEY_PRODUCTION: '' }, input: 'Zq\n', encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`environments/production.env: API_TOKEN: environment "production": pier secrets set: the value has 2 characters: ${WHY}`);
    expect(readFileSync(join(root, 'environments/production.env'), 'utf8')).toBe('LOG_LEVEL=info\n');
  });

  it('the registry password (pipeline.registry): a config error naming the setting', () => {
    const reg = Registry.parse({ address: '127.0.0.1:5000', username: 'ci', passwordEnv: 'REG_PW' });
    expect(() => registryAuth(reg, '/', { REG_PW: 'Zq' })).toThrow(`invalid configuration: pier.yaml: pipeline.registry.passwordEnv: the registry password has 2 characters: ${WHY}`);
    expect(registryAuth(reg, '/', { REG_PW: 'Zq8' })?.password).toBe('Zq8');
  });
});
