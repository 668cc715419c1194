// Encrypted env files (dotenvx format) through `pier secrets` as a process, the deploy target's
// decryption, and missing/wrong keys (exit 2, naming the env, never a value). The dotenvx CLI
// reads what pier writes (interoperability with @dotenvx/dotenvx).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { resolveTarget } from '../../../src/deploy/target.ts';
import { parseEnvFile } from '../../../src/compose/env-file.ts';
import { decryptEnv, plaintextSecrets, setEncrypted } from '../../../src/secrets/encrypted-env.ts';
import { newKeypair } from '../../../src/secrets/dotenvx.ts';
import { isSecretKey } from '../../../src/secrets/model.ts';
import { clearSecrets, redact } from '../../../src/util/redact.ts';
import { pierBin } from '../../helpers/pier.ts';
import { repoRoot } from '../../helpers/paths.ts';

const CANARY = 'canary-Sup3rS3cret-7f3a9';

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'pier-enc-'));
  mkdirSync(join(root, 'environments'));
  writeFileSync(join(root, 'pier.yaml'), 'app:\n  name: api\n  image: acme/api\n  port: 3000\n  test:\n    command: [npm, test]\n');
  writeFileSync(join(root, 'environments', 'production.yaml'), 'envFile: environments/production.env\nrequiredEnv: { DB_PASSWORD: ".+" }\nhosts:\n  - { name: web1, address: 10.0.0.1 }\n');
  writeFileSync(join(root, 'environments', 'production.env'), 'LOG_LEVEL=info\n');
  return root;
}
/** `pier secrets` as a process (the real entry point, stdin and exit code). */
const pierProcess = (root: string, args: string[], env: NodeJS.ProcessEnv = {}, input = '') => {
  const r = spawnSync(process.execPath, [pierBin, 'secrets', ...args], { cwd: root, env: { ...process.env, DOTENV_PRIVATE_KEY_PRODUCTION: '', ...env }, input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** `pier secrets` in this process (main(): same error handling and exit codes, faster). */
async function pier(root: string, args: string[], env: Record<string, string> = {}) {
  const { main } = await import('../../../src/cli/main.ts');
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`)),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`)),
  ];
  Object.assign(process.env, { DOTENV_PRIVATE_KEY_PRODUCTION: '', ...env });
  try {
    const [sub, envName, ...rest] = args;
    const code = await main(['secrets', sub!, envName!, ...rest, '--config', join(root, 'pier.yaml')]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    for (const s of spies) s.mockRestore();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** A value decrypted with the key in the project's .env.keys (the library, no CLI). */
function valueOf(root: string, name: string): string | undefined {
  const key = /DOTENV_PRIVATE_KEY_PRODUCTION=(\w+)/.exec(readFileSync(join(root, '.env.keys'), 'utf8'))![1]!;
  return decryptEnv(parseEnvFile(readFileSync(join(root, 'environments/production.env'), 'utf8'), 'p.env'), 'production', { key, source: 'test' }).vars[name];
}

beforeEach(() => clearSecrets());

describe('pier secrets', () => {
  it('set encrypts (value from stdin), creates .env.keys 0600 and git-ignores it; get/list/rotate-key; never prints a value', async () => {
    const root = project();
    const set = pierProcess(root, ['set', 'production', 'DB_PASSWORD'], {}, `${CANARY}\n`);
    expect(set.code, set.stderr).toBe(0);
    const file = readFileSync(join(root, 'environments/production.env'), 'utf8');
    expect(file).toMatch(/^DOTENV_PUBLIC_KEY_PRODUCTION="[0-9a-f]{66}"$/m);
    expect(file).toMatch(/^DB_PASSWORD="encrypted:[A-Za-z0-9+/=]+"$/m);
    expect(file).toContain('LOG_LEVEL=info');
    expect(file).not.toContain(CANARY);
    expect(statSync(join(root, '.env.keys')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toContain('/.env.keys');
    expect(readFileSync(join(root, '.env.keys'), 'utf8')).toMatch(/^DOTENV_PRIVATE_KEY_PRODUCTION=[0-9a-f]{64}$/m);

    expect(valueOf(root, 'DB_PASSWORD')).toBe(CANARY);

    const list = await pier(root, ['list', 'production']);
    expect(list.stdout).toMatch(/DB_PASSWORD\s+encrypted\s+secret/);
    expect(list.stdout).toMatch(/LOG_LEVEL\s+plaintext\s+plain/);
    for (const r of [set, list]) expect(r.stdout + r.stderr).not.toContain(CANARY);

    // The dotenvx CLI reads the file pier wrote with the key pier stored.
    const dx = execFileSync(join(repoRoot, 'node_modules/.bin/dotenvx'), ['get', 'DB_PASSWORD', '-f', 'environments/production.env', '-fk', '.env.keys'], { cwd: root, encoding: 'utf8', env: { ...process.env, DOTENV_PRIVATE_KEY_PRODUCTION: '' } });
    expect(dx.trim()).toBe(CANARY);

    const oldKeys = readFileSync(join(root, '.env.keys'), 'utf8');
    const rot = await pier(root, ['rotate-key', 'production']);
    expect(rot.code, rot.stderr).toBe(0);
    expect(readFileSync(join(root, '.env.keys'), 'utf8')).not.toBe(oldKeys);
    expect(readFileSync(join(root, 'environments/production.env'), 'utf8')).not.toContain(file.match(/DB_PASSWORD=.*/)![0]);
    const get = pierProcess(root, ['get', 'production', 'DB_PASSWORD']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe(`${CANARY}\n`);
    // The old key no longer opens the file: exit 2 naming the env and the key, no value.
    const oldKey = /DOTENV_PRIVATE_KEY_PRODUCTION=(\w+)/.exec(oldKeys)![1]!;
    const wrong = pierProcess(root, ['get', 'production', 'DB_PASSWORD'], { DOTENV_PRIVATE_KEY_PRODUCTION: oldKey });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('environment "production"');
    expect(wrong.stderr).toContain('does not belong to environments/production.env');
    expect(wrong.stderr + wrong.stdout).not.toMatch(new RegExp(`${CANARY}|${oldKey}`));
  });

  it('edit: $EDITOR changes a value; secrets stay encrypted, plain config stays plain', async () => {
    const root = project();
    await pier(root, ['set', 'production', 'DB_PASSWORD', 'first-value-123']);
    const editor = join(root, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i -e \'s/^DB_PASSWORD=.*/DB_PASSWORD="second-value-456"/\' -e \'s/^LOG_LEVEL=.*/LOG_LEVEL=debug/\' "$1"\necho "API_TOKEN=tok-789-abc" >> "$1"\n');
    chmodSync(editor, 0o755);
    const r = await pier(root, ['edit', 'production'], { EDITOR: editor, VISUAL: '' });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(root, 'environments/production.env'), 'utf8');
    expect(text).toContain('LOG_LEVEL=debug');
    expect(text).toMatch(/^API_TOKEN="encrypted:/m);
    expect(text).not.toMatch(/second-value-456|tok-789-abc/);
    expect(valueOf(root, 'DB_PASSWORD')).toBe('second-value-456');
  });

  it('the deploy target decrypts with DOTENV_PRIVATE_KEY_<ENV> and registers the values; a missing key is an env issue naming the env', () => {
    const root = project();
    const { publicKey, privateKey } = newKeypair();
    writeFileSync(join(root, 'environments/production.env'), setEncrypted('NODE_ENV=production\n', 'production', publicKey, 'DB_PASSWORD', CANARY));
    const load = () => resolveTarget(loadConfig({ configFile: join(root, 'pier.yaml'), env: 'production', vars: {} }));
    process.env.DOTENV_PRIVATE_KEY_PRODUCTION = privateKey;
    try {
      const t = load();
      expect(t.envIssues).toEqual([]);
      expect(t.envFileContent).toBe(`NODE_ENV=production\nDB_PASSWORD=${CANARY}\n`);
      expect(redact(`x ${CANARY} production`)).toBe('x *** production');
    } finally {
      delete process.env.DOTENV_PRIVATE_KEY_PRODUCTION;
    }
    const t = load();
    expect(t.envIssues.map((i) => i.message).join()).toContain('environment "production": environments/production.env is encrypted but no private key was found: set DOTENV_PRIVATE_KEY_PRODUCTION');
  });

  it('no key anywhere: pier secrets get and pier deploy exit 2 naming the env, the file and where the key is looked for; no value, no host contacted', async () => {
    // The one host is a listener of this test on 127.0.0.1: any connection to it is counted.
    let connections = 0;
    const host = createServer((s) => void (connections++, s.destroy()));
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    try {
      const root = project();
      const { publicKey } = newKeypair(); // the private key is kept nowhere: not in the env, no .env.keys
      const text = setEncrypted('LOG_LEVEL=info\n', 'production', publicKey, 'DB_PASSWORD', CANARY);
      writeFileSync(join(root, 'environments/production.env'), text);
      writeFileSync(join(root, 'environments/production.yaml'), `envFile: environments/production.env\nhosts:\n  - { name: web1, address: 127.0.0.1, port: ${(host.address() as { port: number }).port} }\n`);
      const ciphertext = /DB_PASSWORD="(encrypted:[^"]+)"/.exec(text)![1]!;
      const message = 'environment "production": environments/production.env is encrypted but no private key was found: set DOTENV_PRIVATE_KEY_PRODUCTION or add it to .env.keys';
      const get = pierProcess(root, ['get', 'production', 'DB_PASSWORD']);
      expect(get.code, get.stderr).toBe(2);
      expect(get.stderr).toContain(`environments/production.env: DOTENV_PRIVATE_KEY_PRODUCTION: ${message}`);
      expect(get.stdout).toBe('');
      const deploy = spawnSync(process.execPath, [pierBin, 'deploy', 'production', '--version', '1.0.0'], { cwd: root, env: { ...process.env, DOTENV_PRIVATE_KEY_PRODUCTION: '' }, encoding: 'utf8', timeout: 120_000 });
      expect(deploy.status, deploy.stderr).toBe(2);
      expect(deploy.stderr).toContain(message);
      for (const out of [get.stdout, get.stderr, deploy.stdout, deploy.stderr]) {
        expect(out).not.toContain(CANARY);
        expect(out).not.toContain(ciphertext.slice(0, 40));
      }
      expect(connections, 'connections to the host').toBe(0);
    } finally {
      await new Promise<void>((r) => host.close(() => r()));
    }
  });

  it('plaintextSecrets: an encrypted file passes, a plaintext secret or URL password does not', () => {
    const { publicKey, privateKey } = newKeypair();
    const isSecret = (k: string, v: string) => isSecretKey(k) || /:\/\/[^:]+:[^@]+@/.test(v);
    const enc = parseEnvFile(setEncrypted('LOG_LEVEL=info\n', 'production', publicKey, 'DB_PASSWORD', 'x-secret-1'), 'p.env');
    expect(plaintextSecrets(enc, isSecret)).toEqual([]);
    expect(decryptEnv(enc, 'production', { key: privateKey, source: 'test' }).vars).toEqual({ LOG_LEVEL: 'info', DB_PASSWORD: 'x-secret-1' });
    expect(plaintextSecrets(parseEnvFile('DB_PASSWORD=abc\nDATABASE_URL=postgres://u:pw@h/db\nLOG_LEVEL=info\n', 'p.env'), isSecret)).toEqual(['DB_PASSWORD', 'DATABASE_URL']);
  });
});
