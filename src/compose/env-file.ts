/**
 * An environment's env file (environments/<env>.env): parsed with line numbers and checked against
 * `requiredEnv` before anything starts. Values are never put into messages (they may be secrets).
 */
import type { ConfigIssue } from '../util/errors.ts';

export interface EnvFile {
  file: string;
  vars: Record<string, string>;
  /** 1-based line of each variable's (last) definition. */
  lines: Record<string, number>;
  /** Syntax problems: lines that are not `NAME=value`, unterminated quotes. */
  issues: ConfigIssue[];
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/**
 * Parse dotenv text the way `docker compose --env-file` reads it: `NAME=value`, optional
 * `export `, blank lines and `#` comments, single or double quotes, ` #` comments after unquoted
 * values. Every line that is none of these is an issue located at its line.
 */
export function parseEnvFile(text: string, file: string): EnvFile {
  const out: EnvFile = { file, vars: {}, lines: {}, issues: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (/^\s*(#|$)/.test(raw)) return;
    const m = LINE.exec(raw);
    if (!m) {
      // The line itself is not echoed: it may be a pasted secret.
      out.issues.push({ file, line, col: 1, path: '', message: 'malformed line: expected NAME=value (NAME: letters, digits and _, not starting with a digit)' });
      return;
    }
    const [, key, rest] = m as unknown as [string, string, string];
    const value = unquote(rest);
    if (value === undefined) {
      out.issues.push({ file, line, col: raw.indexOf('=') + 2, path: key, message: `unterminated quote: expected the value to end with ${rest.trimStart()[0]}` });
      return;
    }
    out.vars[key] = value;
    out.lines[key] = line;
  });
  return out;
}

function unquote(rest: string): string | undefined {
  const v = rest.trim();
  const q = v[0];
  if (q === '"' || q === "'") {
    let end = 1;
    while (end < v.length && (v[end] !== q || (q === '"' && v[end - 1] === '\\'))) end++;
    if (end >= v.length) return undefined;
    const inner = v.slice(1, end);
    return q === '"' ? inner.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1') : inner;
  }
  return v.replace(/\s+#.*$/, '');
}

/**
 * Check every required variable: present, non-empty, and its whole value matching the pattern.
 * Issues name the file, the line (when the variable is there) and what is expected.
 */
export function checkRequired(env: EnvFile, required: Record<string, string>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [key, pattern] of Object.entries(required)) {
    const expected = `expected a value matching /^(?:${pattern})$/`;
    const line = env.lines[key];
    const at = line ? { line, col: 1 } : {};
    const value = env.vars[key];
    if (value === undefined) issues.push({ file: env.file, path: key, message: `missing: ${expected}` });
    else if (value === '') issues.push({ file: env.file, ...at, path: key, message: `empty: ${expected}` });
    else if (!new RegExp(`^(?:${pattern})$`).test(value)) {
      issues.push({ file: env.file, ...at, path: key, message: `invalid value (not shown, ${value.length} characters): ${expected}` });
    }
  }
  return issues;
}
