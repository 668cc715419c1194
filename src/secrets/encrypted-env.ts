/**
 * Encrypted env files (dotenvx format) that may be committed: `environments/<env>.env` holds
 * `DOTENV_PUBLIC_KEY_<ENV>="..."` and `NAME="encrypted:..."` values beside plain ones; the private
 * key comes from `DOTENV_PRIVATE_KEY_<ENV>` in the process environment or the repo's git-ignored
 * `.env.keys` (mode 0600). Text editing is pure; the key and file helpers are the only I/O here.
 * Messages name the env, the file and the variable, never a value or a key.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile, type EnvFile } from '../compose/env-file.ts';
import type { ConfigIssue } from '../util/errors.ts';
import { decryptValue, ENCRYPTED_PREFIX, encryptValue, publicKeyOf } from './dotenvx.ts';

export const KEYS_FILE = '.env.keys';

export function keyNames(envName: string): { publicKey: string; privateKey: string } {
  const suffix = envName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return { publicKey: `DOTENV_PUBLIC_KEY_${suffix}`, privateKey: `DOTENV_PRIVATE_KEY_${suffix}` };
}

export const isEncryptedValue = (v: string) => v.startsWith(ENCRYPTED_PREFIX);
const isKeyLine = (name: string) => /^DOTENV_PUBLIC_KEY/.test(name);

/** The file carries a dotenvx public key or an encrypted value. */
export function isEncryptedFile(env: EnvFile): boolean {
  return Object.entries(env.vars).some(([k, v]) => isKeyLine(k) || isEncryptedValue(v));
}

export interface PrivateKey {
  key: string;
  /** Where it came from, for messages: `DOTENV_PRIVATE_KEY_PRODUCTION` or `.env.keys`. */
  source: string;
}

/** The private key of `envName`: the process environment first, then `<root>/.env.keys`. */
export function findPrivateKey(root: string, envName: string, env: NodeJS.ProcessEnv = process.env): PrivateKey | undefined {
  const name = keyNames(envName).privateKey;
  if (env[name]) return { key: env[name]!.trim(), source: name };
  const file = join(root, KEYS_FILE);
  if (!existsSync(file)) return undefined;
  const key = parseEnvFile(readFileSync(file, 'utf8'), KEYS_FILE).vars[name];
  return key ? { key: key.trim(), source: `${KEYS_FILE} (${name})` } : undefined;
}

export interface Decrypted {
  /** Runtime variables: decrypted values, plain ones as written, the public key line left out. */
  vars: Record<string, string>;
  /** Names whose values were encrypted (secrets by construction). */
  encrypted: string[];
  issues: ConfigIssue[];
}

/**
 * Decrypt the encrypted values of `env` (the env file of `envName`) with `key`. A missing or wrong
 * key is one issue naming the env, the file and where the key is looked for; no value is shown.
 */
export function decryptEnv(env: EnvFile, envName: string, key: PrivateKey | undefined): Decrypted {
  const names = keyNames(envName);
  const vars: Record<string, string> = {};
  const encrypted: string[] = [];
  const issues: ConfigIssue[] = [];
  const filePublic = env.vars[names.publicKey];
  const anyEncrypted = Object.values(env.vars).some(isEncryptedValue);
  if (anyEncrypted && !key) {
    issues.push({ file: env.file, path: names.privateKey, message: `environment "${envName}": ${env.file} is encrypted but no private key was found: set ${names.privateKey} or add it to ${KEYS_FILE} (pier secrets rotate-key ${envName} makes a new one)` });
  } else if (anyEncrypted && key) {
    const pub = publicKeyOf(key.key);
    if (!pub) issues.push({ file: env.file, path: names.privateKey, message: `environment "${envName}": the private key from ${key.source} is not a dotenvx key (expected 64 hex characters)` });
    else if (filePublic && pub !== filePublic) issues.push({ file: env.file, path: names.privateKey, message: `environment "${envName}": the private key from ${key.source} does not belong to ${env.file} (its ${names.publicKey} differs): wrong key, or the key was rotated` });
  }
  for (const [k, v] of Object.entries(env.vars)) {
    if (isKeyLine(k)) continue;
    if (!isEncryptedValue(v)) {
      vars[k] = v;
      continue;
    }
    encrypted.push(k);
    if (issues.length || !key) continue;
    try {
      vars[k] = decryptValue(key.key, v);
    } catch {
      issues.push({ file: env.file, line: env.lines[k], col: 1, path: k, message: `environment "${envName}": ${k} does not decrypt with the private key from ${key.source} (wrong key, or a damaged value)` });
    }
  }
  return { vars, encrypted, issues };
}

const quoteEncrypted = (v: string) => `"${v}"`;

/**
 * `text` with `name` set to `value` encrypted under `publicKey`: the line of its (last) definition
 * is replaced, or the variable is appended. The public key line is added or replaced at the top.
 */
export function setEncrypted(text: string, envName: string, publicKey: string, name: string, value: string): string {
  return setLine(withPublicKey(text, envName, publicKey), name, quoteEncrypted(encryptValue(publicKey, value)));
}

/** Remove `name` (every definition). */
export function unsetLine(text: string, name: string): string {
  const re = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=`);
  return text.split('\n').filter((l) => !re.test(l)).join('\n');
}

/** Replace the last definition of `name`, or append `name=raw`. */
export function setLine(text: string, name: string, raw: string): string {
  const lines = text.split('\n');
  const re = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=`);
  let at = -1;
  lines.forEach((l, i) => {
    if (re.test(l)) at = i;
  });
  if (at >= 0) {
    lines[at] = `${name}=${raw}`;
    // Earlier definitions would be dead text holding an old value: drop them.
    return lines.filter((l, i) => i === at || !re.test(l)).join('\n');
  }
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${body}${name}=${raw}\n`;
}

const HEADER = '#/-------------------[DOTENV_PUBLIC_KEY]--------------------/\n#/            public-key encryption for .env files          /\n#/       [how it works](https://dotenvx.com/encryption)     /\n#/----------------------------------------------------------/\n';

/** `text` carrying `publicKey` as `DOTENV_PUBLIC_KEY_<ENV>` (replaced in place, else a header on top). */
export function withPublicKey(text: string, envName: string, publicKey: string): string {
  const name = keyNames(envName).publicKey;
  if (new RegExp(`^${name}=`, 'm').test(text)) return text.replace(new RegExp(`^${name}=.*$`, 'm'), `${name}="${publicKey}"`);
  return `${HEADER}${name}="${publicKey}"\n\n${text}`;
}

/** Re-encrypt every encrypted value of `text` from `oldKey` to `newPublicKey` (rotate-key). */
export function reencrypt(text: string, file: string, envName: string, oldKey: PrivateKey, newPublicKey: string): { text: string; issues: ConfigIssue[]; count: number } {
  const env = parseEnvFile(text, file);
  const d = decryptEnv(env, envName, oldKey);
  if (d.issues.length) return { text, issues: d.issues, count: 0 };
  let out = withPublicKey(text, envName, newPublicKey);
  for (const k of d.encrypted) out = setLine(out, k, quoteEncrypted(encryptValue(newPublicKey, d.vars[k]!)));
  return { text: out, issues: [], count: d.encrypted.length };
}

/**
 * Store `privateKey` as `DOTENV_PRIVATE_KEY_<ENV>` in `<root>/.env.keys` (mode 0600, other keys
 * kept) and make sure git ignores that file.
 */
export function writePrivateKey(root: string, envName: string, privateKey: string): string {
  const file = join(root, KEYS_FILE);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '#/------------------!DOTENV_PRIVATE_KEYS!-------------------/\n#/ private decryption keys. DO NOT commit to source control /\n#/----------------------------------------------------------/\n';
  writeFileSync(file, setLine(before, keyNames(envName).privateKey, privateKey), { mode: 0o600 });
  chmodSync(file, 0o600);
  ensureIgnored(root, KEYS_FILE);
  return file;
}

/** Add `/<name>` to the repo's .gitignore unless a line already covers it by name. */
export function ensureIgnored(root: string, name: string): void {
  const gi = join(root, '.gitignore');
  const text = existsSync(gi) ? readFileSync(gi, 'utf8') : '';
  if (text.split('\n').some((l) => l.trim() === name || l.trim() === `/${name}`)) return;
  writeFileSync(gi, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}/${name}\n`);
}

/**
 * Names whose values are secret by the model but stored in plaintext: what a tracked env file must
 * not contain (the tracked-env check accepts an encrypted file only without these).
 */
export function plaintextSecrets(env: EnvFile, isSecret: (name: string, value: string) => boolean): string[] {
  return Object.entries(env.vars).filter(([k, v]) => !isKeyLine(k) && v !== '' && !isEncryptedValue(v) && isSecret(k, v)).map(([k]) => k);
}
