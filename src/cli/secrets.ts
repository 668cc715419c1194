/**
 * `pier secrets set|get|edit|list|rotate-key <env>`: the environment's env file encrypted in the
 * dotenvx format (src/secrets/encrypted-env.ts), so it can be committed. Values never reach
 * output except the one `get` asks for; messages name the env, file and variable.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { parseEnvFile } from '../compose/env-file.ts';
import { isSecretKey, MIN_SECRET_LENGTH, tooShortMessage, urlPassword } from '../secrets/model.ts';
import { newKeypair, publicKeyOf } from '../secrets/dotenvx.ts';
import {
  decryptEnv, findPrivateKey, isEncryptedValue, keyNames, KEYS_FILE, plaintextSecrets, reencrypt, setEncrypted, setLine, unsetLine, writePrivateKey, type PrivateKey,
} from '../secrets/encrypted-env.ts';
import { ConfigError, UsageError } from '../util/errors.ts';
import { registerSecret } from '../util/redact.ts';
import { commonOptions, parse } from './args.ts';
import { printJson, writeSecretValue } from './output.ts';

export const help = `Usage: pier secrets <command> <env> [NAME] [VALUE] [--config FILE] [--json]

The environment's envFile (environments/<env>.yaml), encrypted value by value in the dotenvx
format (public key in the file, so it can be committed; private key in DOTENV_PRIVATE_KEY_<ENV>
or the git-ignored ${KEYS_FILE}, mode 0600).

  set <env> NAME [VALUE]   encrypt VALUE into the file (read from stdin when left out: keeps it
                           out of shell history); the first set creates the key pair
  get <env> NAME           print one decrypted value on stdout (the only command that shows one)
  edit <env>               decrypt into a private temporary file, open $EDITOR, encrypt back
                           (secret names and values already encrypted stay encrypted)
  list <env>               names, encrypted or plaintext, secret or plain config; never values
  rotate-key <env>         new key pair: every encrypted value re-encrypted, the new private key
                           written to ${KEYS_FILE}; update DOTENV_PRIVATE_KEY_<ENV> where deploys run

Roll a changed value out without a new image: pier deploy <env> --env-only.
Exit: 0 ok; 2 bad usage, no envFile, a missing or wrong key.`;

interface Ctx {
  env: string;
  root: string;
  file: string;
  label: string;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, commonOptions);
  if (values.help) return console.log(help), 0;
  const [sub, env, name, value] = positionals;
  const commands = ['set', 'get', 'edit', 'list', 'rotate-key'];
  if (!sub || !commands.includes(sub)) throw new UsageError(`pier secrets: expected one of ${commands.join(', ')}, got "${sub ?? ''}"`);
  if (!env) throw new UsageError(`missing environment: pier secrets ${sub} <env>`);
  const cfg = loadConfig({ configFile: values.config, env });
  const envFile = cfg.env?.envFile;
  const label = `environments/${env}.yaml`;
  if (!envFile) throw new ConfigError([{ file: label, path: 'envFile', message: 'expected an env file to keep the secrets in, e.g. envFile: environments/' + env + '.env' }]);
  const ctx: Ctx = { env, root: cfg.root, file: join(cfg.root, envFile), label: envFile };
  const needName = () => {
    if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`pier secrets ${sub}: expected a variable NAME (letters, digits, _), got "${name ?? ''}"`);
    return name;
  };
  switch (sub) {
    case 'set':
      return set(ctx, needName(), value ?? readStdin());
    case 'get':
      return get(ctx, needName());
    case 'list':
      return list(ctx, cfg.env?.secrets ?? [], Boolean(values.json));
    case 'edit':
      return edit(ctx, cfg.env?.secrets ?? []);
    default:
      return rotate(ctx);
  }
}

const read = (c: Ctx) => (existsSync(c.file) ? readFileSync(c.file, 'utf8') : '');

function readStdin(): string {
  return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
}

/** The public key to encrypt with: the file's, else the private key's, else a new pair (saved). */
function publicKeyFor(c: Ctx, text: string): string {
  const names = keyNames(c.env);
  const inFile = parseEnvFile(text, c.label).vars[names.publicKey];
  if (inFile) return inFile;
  const priv = findPrivateKey(c.root, c.env);
  if (priv) {
    const pub = publicKeyOf(priv.key);
    if (!pub) throw new ConfigError([{ file: c.label, path: names.privateKey, message: `environment "${c.env}": the private key from ${priv.source} is not a dotenvx key (expected 64 hex characters)` }]);
    return pub;
  }
  const pair = newKeypair();
  const keys = writePrivateKey(c.root, c.env, pair.privateKey);
  console.error(`new key pair for ${c.env}: private key ${names.privateKey} in ${relative(process.cwd(), keys) || keys} (mode 0600, git-ignored); give it to whatever deploys (CI secret ${names.privateKey})`);
  return pair.publicKey;
}

function needKey(c: Ctx): PrivateKey {
  const key = findPrivateKey(c.root, c.env);
  if (!key) {
    const n = keyNames(c.env).privateKey;
    throw new ConfigError([{ file: c.label, path: n, message: `environment "${c.env}": no private key found: set ${n} or add it to ${KEYS_FILE}` }]);
  }
  return key;
}

function set(c: Ctx, name: string, value: string): number {
  registerSecret(value);
  if (/[\r\n\0]/.test(value)) throw new UsageError(`pier secrets set: ${name}: multi-line value: docker --env-file cannot carry a newline (put it on one line, e.g. base64-encoded)`);
  if (value !== '' && value.length < MIN_SECRET_LENGTH) throw new ConfigError([{ file: c.label, path: name, message: `environment "${c.env}": pier secrets set: the value has ${tooShortMessage(value.length)}` }]);
  const text = read(c);
  writeFileSync(c.file, setEncrypted(text, c.env, publicKeyFor(c, text), name, value), { mode: 0o600 });
  console.error(`${name} set (encrypted) in ${c.label}; roll it out with: pier deploy ${c.env} --env-only`);
  return 0;
}

function decrypted(c: Ctx) {
  const env = parseEnvFile(read(c), c.label);
  const d = decryptEnv(env, c.env, findPrivateKey(c.root, c.env));
  if (d.issues.length) throw new ConfigError(d.issues);
  return { env, ...d };
}

function get(c: Ctx, name: string): number {
  const { vars } = decrypted(c);
  if (!(name in vars)) throw new UsageError(`pier secrets get: ${name} is not set in ${c.label}`);
  writeSecretValue(vars[name]!);
  return 0;
}

function list(c: Ctx, declared: string[], json: boolean): number {
  const env = parseEnvFile(read(c), c.label);
  const rows = Object.entries(env.vars)
    .filter(([k]) => !k.startsWith('DOTENV_PUBLIC_KEY'))
    .map(([k, v]) => ({ name: k, encrypted: isEncryptedValue(v), secret: isEncryptedValue(v) || isSecretKey(k, declared) || urlPassword(v) !== undefined }));
  const plaintext = plaintextSecrets(env, (k, v) => isSecretKey(k, declared) || urlPassword(v) !== undefined);
  if (json) printJson({ env: c.env, file: c.label, variables: rows, plaintextSecrets: plaintext });
  else {
    for (const r of rows) console.log(`${r.name.padEnd(32)} ${r.encrypted ? 'encrypted' : 'plaintext'.padEnd(9)}  ${r.secret ? 'secret' : 'plain'}`);
    if (plaintext.length) console.error(`! plaintext secrets in ${c.label}: ${plaintext.join(', ')} (encrypt them: pier secrets set ${c.env} NAME)`);
  }
  return 0;
}

function rotate(c: Ctx): number {
  const old = needKey(c);
  const pair = newKeypair();
  const r = reencrypt(read(c), c.label, c.env, old, pair.publicKey);
  if (r.issues.length) throw new ConfigError(r.issues);
  // New file beside the old one, then the key, then the rename: at every point one of the two
  // files matches the key in .env.keys (the .rotating file after a crash before the rename).
  writeFileSync(`${c.file}.rotating`, r.text, { mode: 0o600 });
  writePrivateKey(c.root, c.env, pair.privateKey);
  renameSync(`${c.file}.rotating`, c.file);
  const n = keyNames(c.env).privateKey;
  console.error(`rotated the key of ${c.env}: ${r.count} values re-encrypted in ${c.label}; the new private key is in ${KEYS_FILE}`);
  if (old.source === n) console.error(`! ${n} in this shell is the old key: update it wherever deploys run (CI), then unset it here`);
  return 0;
}

function edit(c: Ctx, declared: string[]): number {
  const { env, vars, encrypted } = decrypted(c);
  const dir = mkdtempSync(join(tmpdir(), 'pier-secrets-'));
  const tmp = join(dir, `${c.env}.env`);
  try {
    writeFileSync(tmp, Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n') + '\n', { mode: 0o600 });
    const editor = process.env.VISUAL || process.env.EDITOR || 'vi';
    const r = spawnSync(editor, [tmp], { stdio: 'inherit', shell: false });
    if (r.status !== 0) throw new UsageError(`pier secrets edit: ${editor} exited with ${r.status ?? r.signal}; ${c.label} is unchanged`);
    const edited = parseEnvFile(readFileSync(tmp, 'utf8'), `${c.label} (edited)`);
    if (edited.issues.length) throw new ConfigError(edited.issues);
    for (const v of Object.values(edited.vars)) registerSecret(v);
    let text = read(c);
    const pub = publicKeyFor(c, text);
    for (const k of Object.keys(env.vars)) if (!k.startsWith('DOTENV_PUBLIC_KEY') && !(k in edited.vars)) text = unsetLine(text, k);
    for (const [k, v] of Object.entries(edited.vars)) {
      if (vars[k] === v) continue; // unchanged: keep the line (and its ciphertext) as it is
      const secret = encrypted.includes(k) || isSecretKey(k, declared) || urlPassword(v) !== undefined;
      text = secret ? setEncrypted(text, c.env, pub, k, v) : setLine(text, k, /^[^\s"'#]*$/.test(v) ? v : JSON.stringify(v));
    }
    writeFileSync(c.file, text, { mode: 0o600 });
    console.error(`${c.label} saved`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
