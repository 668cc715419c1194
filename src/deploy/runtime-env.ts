/**
 * The app's runtime env file for a deploy: parsed once with pier's own parser (the rules of
 * `pier env`: quotes, `export`, comments), checked, and rendered as a file `docker run
 * --env-file` reads literally (`NAME=value` per line, no quoting, no comments). Pure.
 */
import { checkRequired, parseEnvFile } from '../compose/env-file.ts';
import type { ConfigIssue } from '../util/errors.ts';

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
  const issues: ConfigIssue[] = [...env.issues];
  for (const [key, value] of Object.entries(env.vars)) {
    // docker --env-file reads one line per variable and has no escapes: a newline cannot travel.
    if (/[\r\n\0]/.test(value)) {
      issues.push({ file, line: env.lines[key], col: 1, path: key, message: 'multi-line value: docker --env-file cannot carry a newline (put it on one line, e.g. base64-encoded)' });
    }
  }
  issues.push(...checkRequired(env, required));
  const dockerEnvFile = Object.entries(env.vars).map(([k, v]) => `${k}=${v}\n`).join('');
  return { vars: env.vars, dockerEnvFile, issues };
}

/**
 * Secrets to redact from output: every value, and a password inside a URL (as written and, when
 * it decodes, decoded). A malformed escape (`50%off`) is not decoded, never an error: the
 * emergency verbs must not be blocked by a value they do not use.
 */
export function secretsOf(vars: Record<string, string>): string[] {
  const out: string[] = [];
  for (const v of Object.values(vars)) {
    out.push(v);
    const pw = /^[a-z][a-z0-9+.-]*:\/\/[^:/\s@]+:([^@\s/]+)@/i.exec(v)?.[1];
    if (!pw) continue;
    out.push(pw);
    try {
      out.push(decodeURIComponent(pw));
    } catch {
      // Not percent-encoding: the literal form above is what can appear.
    }
  }
  return out.filter((s) => s.length > 0);
}
