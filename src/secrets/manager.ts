/**
 * Secrets read from a secret manager at deploy time: `env: { NAME: { from: [argv...] } }` in the
 * environment file. The command runs on the deploying machine, as argv (no shell), with a timeout;
 * its stdout (one trailing newline removed) is the value, registered for redaction before anything
 * else sees it. A command that is missing, fails, hangs, prints nothing or a 1-2 character value
 * (it could not be redacted) refuses the deploy,
 * naming the environment, the variable and the program, never a value. Recipes: docs/secrets.md.
 */
import { ConfigError, EnvironmentError } from '../util/errors.ts';
import { exec } from '../util/exec.ts';
import { redact, registerSecret } from '../util/redact.ts';
import { MIN_SECRET_LENGTH, tooShortMessage } from './model.ts';

export interface SecretRef {
  from: string[];
  timeoutSeconds: number;
}

export type EnvValue = string | SecretRef;

export const isRef = (v: EnvValue): v is SecretRef => typeof v === 'object' && v !== null && Array.isArray(v.from);

/** Run one reference; `where` names it for messages (`environments/production.yaml: env.DB_PASSWORD`). */
export async function readSecret(envName: string, name: string, ref: SecretRef, where: string): Promise<string> {
  const program = ref.from[0]!;
  const what = `environment "${envName}": ${where}: secret manager command ${program}`;
  const r = await exec(ref.from, { timeoutMs: ref.timeoutSeconds * 1000, nothrow: true }).catch((e: Error & { code?: string }) => {
    throw new EnvironmentError(`${what} could not be started (${/ENOENT/.test(e.message) ? 'not found on PATH' : e.message.split('\n')[0]})`, `install ${program} or fix env.${name}.from`);
  });
  if (r.code === null) throw new EnvironmentError(`${what} did not finish within ${ref.timeoutSeconds}s and was killed`, `is ${program} waiting for a login or a prompt? Sign in first, or raise env.${name}.timeoutSeconds`);
  const value = r.stdout.replace(/\r?\n$/, '');
  // Whatever it printed is the secret, even on failure: never echoed.
  registerSecret(value);
  if (r.code !== 0) {
    const why = redact(r.stderr.trim().split('\n').slice(-1)[0] ?? '').slice(0, 200);
    throw new EnvironmentError(`${what} failed with exit code ${r.code}${why ? `: ${why}` : ''}`, `run the command by hand to check the reference and that you are signed in`);
  }
  if (value === '') throw new ConfigError([{ file: where.split(':')[0]!, path: `env.${name}`, message: `environment "${envName}": secret manager command ${program} printed nothing (expected the value on stdout)` }]);
  if (value.length < MIN_SECRET_LENGTH) throw new ConfigError([{ file: where.split(':')[0]!, path: `env.${name}`, message: `environment "${envName}": secret manager command ${program} printed ${tooShortMessage(value.length)}` }]);
  return value;
}

/** Resolve every reference of `env` (in parallel); plain values pass through. */
export async function resolveEnvValues(envName: string, env: Record<string, EnvValue>, file: string): Promise<{ vars: Record<string, string>; fromManager: string[] }> {
  const entries = await Promise.all(Object.entries(env).map(async ([k, v]): Promise<[string, string]> => [k, isRef(v) ? await readSecret(envName, k, v, `${file}: env.${k}`) : v]));
  return { vars: Object.fromEntries(entries), fromManager: Object.entries(env).filter(([, v]) => isRef(v)).map(([k]) => k) };
}
