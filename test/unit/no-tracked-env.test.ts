// Real .env files (values, secrets) are never committed: only *.env.example templates, and env
// files encrypted with pier secrets (dotenvx) that hold no plaintext secret.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile } from '../../src/compose/env-file.ts';
import { isEncryptedFile, plaintextSecrets } from '../../src/secrets/encrypted-env.ts';
import { isSecretKey, urlPassword } from '../../src/secrets/model.ts';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.ts';

/** Tracked paths that are dotenv files with real values: `.env`, `x.env`, `.env.local`, `.env.keys`... */
export function realEnvFiles(paths: string[], read: (p: string) => string = () => ''): string[] {
  return paths.filter((p) => {
    const base = p.split('/').pop()!;
    if (base.endsWith('.example')) return false;
    if (!(base === '.env' || base.endsWith('.env') || base.startsWith('.env.'))) return false;
    return base === '.env.keys' || !safeEncrypted(read(p), p);
  });
}

/** An encrypted env file (dotenvx) whose secret-looking values are all encrypted. */
export function safeEncrypted(text: string, file: string): boolean {
  const env = parseEnvFile(text, file);
  return isEncryptedFile(env) && plaintextSecrets(env, (k, v) => isSecretKey(k) || urlPassword(v) !== undefined).length === 0;
}

describe('no real .env file is tracked by git', () => {
  it('recognises env files and their templates', () => {
    expect(realEnvFiles(['.env', 'environments/staging.env', 'a/.env.local', 'environments/staging.env.example', 'src/env.ts', 'compose/dev.yaml', '.env.keys'])).toEqual(['.env', 'environments/staging.env', 'a/.env.local', '.env.keys']);
  });

  it('accepts an encrypted env file, refuses one with a plaintext secret beside the encrypted values', () => {
    const enc = 'DOTENV_PUBLIC_KEY_PRODUCTION="02ab"\nLOG_LEVEL=info\nDB_PASSWORD="encrypted:BEx1"\n';
    const files: Record<string, string> = { 'environments/production.env': enc, 'environments/staging.env': `${enc}API_TOKEN=plain-token\n`, 'environments/qa.env': `${enc}DATABASE_URL=postgres://u:pw@h/db\n` };
    expect(realEnvFiles(Object.keys(files), (p) => files[p]!)).toEqual(['environments/staging.env', 'environments/qa.env']);
  });

  it('git ls-files lists none', () => {
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
    expect(tracked.length).toBeGreaterThan(0);
    expect(realEnvFiles(tracked, (p) => readFileSync(join(repoRoot, p), 'utf8'))).toEqual([]);
  });

  it('.gitignore ignores them', () => {
    const ignored = (p: string) => {
      try {
        execFileSync('git', ['check-ignore', '-q', '--no-index', p], { cwd: repoRoot });
        return true;
      } catch {
        return false;
      }
    };
    expect(ignored('.env')).toBe(true);
    expect(ignored('.env.keys')).toBe(true);
    expect(ignored('environments/staging.env')).toBe(true);
    expect(ignored('environments/staging.env.example')).toBe(false);
  });
});
