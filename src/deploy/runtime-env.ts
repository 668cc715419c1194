/**
 * The app's runtime env file for a deploy: parsed once with pier's own parser (the rules of
 * `pier env`: quotes, `export`, comments), checked, and rendered as a file `docker run
 * --env-file` reads literally (`NAME=value` per line, no quoting, no comments). Pure.
 */
import { checkRequired, parseEnvFile } from '../compose/env-file.ts';
import type { ConfigIssue } from '../util/errors.ts';
import { secretValues } from '../secrets/model.ts';

export interface RuntimeEnv {
  vars: Record<string, string>;
  /** Normalised content for `docker run --env-file`. */
  dockerEnvFile: string;
  /** Everything wrong with it (syntax, values docker cannot carry, required variables). */
  issues: ConfigIssue[];
}

/** Parse `text` (the env file `file`) and check it against `required` (name -> whole-value regex). */
export function runtimeEnv(text: string, file: string, required: Record<string, string> = {}): RuntimeEnv {
  const env = parseEnvFile(text, file);
  const r = checkedEnv(env.vars, env.lines, file, required);
  return { ...r, issues: [...env.issues, ...r.issues] };
}

/**
 * Check runtime variables (from an env file, decrypted, merged with `env:` values and secrets read
 * from a manager) and render them for `docker run --env-file`. `lines` locates file variables.
 */
export function checkedEnv(vars: Record<string, string>, lines: Record<string, number>, file: string, required: Record<string, string> = {}): RuntimeEnv {
  const issues: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(vars)) {
    // docker --env-file reads one line per variable and has no escapes: a newline cannot travel.
    if (/[\r\n\0]/.test(value)) {
      issues.push({ file, line: lines[key], col: 1, path: key, message: 'multi-line value: docker --env-file cannot carry a newline (put it on one line, e.g. base64-encoded)' });
    }
  }
  issues.push(...checkRequired({ file, vars, lines, issues: [] }, required));
  const dockerEnvFile = Object.entries(vars).map(([k, v]) => `${k}=${v}\n`).join('');
  return { vars, dockerEnvFile, issues };
}

/**
 * Secrets to redact from output, by the secret model (src/secrets/model.ts): values of declared
 * or secret-looking names, and passwords inside URLs. Plain configuration is not a secret.
 */
export function secretsOf(vars: Record<string, string>, declared: readonly string[] = []): string[] {
  return secretValues(vars, declared);
}
