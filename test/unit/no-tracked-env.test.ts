// Real .env files (values, secrets) are never committed: only *.env.example templates, and env
// files encrypted with pier secrets (dotenvx) that hold no plaintext secret.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseEnvFile } from '../../src/compose/env-file.ts';
import { isEncryptedFile, plaintextSecrets } from '../../src/secrets/encrypted-env.ts';
import { isSecretKey, urlPassword } from '../../src/secrets/model.ts';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.ts';

/** Tracked paths that are dotenv files with real values: `.env`, `x.env`, `.env.local`, `.env.keys`... */
export function realEnvFiles(paths: string[], read: (p: string) => string = () => ''): string[] {
  const declared = declaredSecrets(paths, read);
  return paths.filter((p) => {
    const base = p.split('/').pop()!;
    if (base.endsWith('.example')) return false;
    if (!(base === '.env' || base.endsWith('.env') || base.startsWith('.env.'))) return false;
    return base === '.env.keys' || !safeEncrypted(read(p), p, declared.get(p));
  });
}

/**
 * The names each tracked env file's environment declares under `secrets:` (secret whatever they
 * are called): from every `environments/<env>.yaml`, for its `envFile` (relative to the project,
 * the folder holding `environments/`) and for `environments/<env>.env` beside it.
 */
export function declaredSecrets(paths: string[], read: (p: string) => string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (file: string, names: string[]) => out.set(file, [...(out.get(file) ?? []), ...names]);
  for (const p of paths) {
    const m = /^(?:(.*)\/)?environments\/([^/]+)\.ya?ml$/.exec(p);
    if (!m) continue;
    let doc: unknown;
    try {
      doc = parseYaml(read(p));
    } catch {
      continue; // not this check's business: pier config reports a broken file
    }
    const { secrets, envFile } = (doc && typeof doc === 'object' ? doc : {}) as { secrets?: unknown; envFile?: unknown };
    const names = Array.isArray(secrets) ? secrets.filter((s): s is string => typeof s === 'string') : [];
    if (!names.length) continue;
    const project = m[1] ?? '';
    add(posix.join(project, 'environments', `${m[2]}.env`), names);
    if (typeof envFile === 'string' && !posix.isAbsolute(envFile)) add(posix.join(project, envFile), names);
  }
  return out;
}

/** An encrypted env file (dotenvx) whose secret values (by name, URL password or `declared`) are all encrypted. */
export function safeEncrypted(text: string, file: string, declared: readonly string[] = []): boolean {
  const env = parseEnvFile(text, file);
  return isEncryptedFile(env) && plaintextSecrets(env, (k, v) => isSecretKey(k, declared) || urlPassword(v) !== undefined).length === 0;
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

  it('refuses a plaintext value of a name declared under secrets: in the environment (its envFile, or environments/<env>.env)', () => {
    const enc = 'DOTENV_PUBLIC_KEY_PRODUCTION="02ab"\nLOG_LEVEL=info\nDB_PASSWORD="encrypted:BEx1"\n';
    const files: Record<string, string> = {
      'environments/production.yaml': 'envFile: environments/production.env\nsecrets: [SESSION_SEED]\n',
      'environments/production.env': `${enc}SESSION_SEED=seed-in-plaintext\n`,
      // No envFile: the file beside it by name.
      'app/environments/staging.yaml': 'secrets: [SESSION_SEED]\n',
      'app/environments/staging.env': `${enc}SESSION_SEED=seed-in-plaintext\n`,
      // envFile elsewhere, relative to the project (the folder holding environments/).
      'app/environments/qa.yaml': 'envFile: config/qa.env\nsecrets: [SESSION_SEED]\n',
      'app/config/qa.env': `${enc}SESSION_SEED=seed-in-plaintext\n`,
      // Declared and encrypted, or declared elsewhere: accepted.
      'environments/demo.yaml': 'envFile: environments/demo.env\nsecrets: [SESSION_SEED]\n',
      'environments/demo.env': `${enc}SESSION_SEED="encrypted:BEx2"\n`,
      'environments/other.env': `${enc}SESSION_SEED=not-declared-here\n`,
    };
    expect(realEnvFiles(Object.keys(files), (p) => files[p]!)).toEqual(['environments/production.env', 'app/environments/staging.env', 'app/config/qa.env']);
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
