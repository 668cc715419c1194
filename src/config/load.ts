import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../util/errors.ts';
import { registerSecret } from '../util/redact.ts';
import { secretValues } from '../secrets/model.ts';
import { machineFile, readMachineVars } from '../machine/machine-file.ts';
import { interpolate } from './interpolate.ts';
import { Environment, PierFile, type Config } from './schema.ts';
import { nearest } from './suggest.ts';
import { formatPath, parseYaml, type YamlSource } from './yaml-source.ts';

export interface LoadOptions {
  /** Explicit pier.yaml; otherwise searched from cwd upwards. */
  configFile?: string;
  cwd?: string;
  /** Environment overlay name (environments/<name>.yaml). */
  env?: string;
  /** Variables for ${VAR} interpolation; default process.env over the root .env file. */
  vars?: Record<string, string | undefined>;
}

/** pier.yaml in `cwd` or the nearest parent directory. */
export function findConfigFile(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const f = join(dir, 'pier.yaml');
    if (existsSync(f)) return f;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Interpolation variables, later sources winning: the per-user machine file (`pier setup`), the
 * repository's root `.env`, the process environment. Public defaults are the `${VAR:-default}`s.
 */
export function interpolationVars(root: string, env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const dotenvFile = join(root, '.env');
  const fromFile = existsSync(dotenvFile) ? parseDotenv(readFileSync(dotenvFile)) : {};
  return { ...readMachineVars(machineFile(env)), ...fromFile, ...env };
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const file = opts.configFile ? resolve(cwd, opts.configFile) : findConfigFile(cwd);
  if (!file || !existsSync(file)) {
    throw new ConfigError([{ file: opts.configFile ?? join(cwd, 'pier.yaml'), path: '', message: 'no pier.yaml found here or in any parent directory (use --config FILE)' }]);
  }
  const root = dirname(file);
  const vars = opts.vars ?? interpolationVars(root);
  const display = (f: string) => relative(cwd, f) || f;
  const issues: ConfigIssue[] = [];

  const main = validateFile(display(file), readFileSync(file, 'utf8'), PierFile, vars, issues);
  let env: Config['env'];
  if (opts.env) {
    const envFile = join(root, 'environments', `${opts.env}.yaml`);
    if (!existsSync(envFile)) {
      issues.push({ file: display(envFile), path: '', message: `environment "${opts.env}" not found: expected environments/${opts.env}.yaml` });
    } else {
      const parsed = validateFile(display(envFile), readFileSync(envFile, 'utf8'), Environment, vars, issues);
      if (parsed) env = { name: opts.env, file: envFile, ...parsed };
    }
  }
  if (issues.length || !main) throw new ConfigError(issues);
  for (const v of secretValues(Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => typeof e[1] === 'string')), env?.secrets)) registerSecret(v);
  // A webhook URL is its own credential (a Slack incoming-webhook URL is the token): registered
  // here, where every command's config comes from, so no output path (`pier config` included)
  // prints it, whether written out, interpolated from ${VAR} or named by urlEnv.
  for (const n of env?.notify ?? []) registerSecret(n.url ?? (n.urlEnv ? vars[n.urlEnv] : undefined));
  return { ...main, root, file, env };
}

/** Parse + interpolate + validate one file, appending every issue found (never just the first). */
export function validateFile<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  vars: Record<string, string | undefined>,
  issues: ConfigIssue[],
): z.output<S> | undefined {
  const src = parseYaml(file, text);
  issues.push(...src.issues);
  if (src.value === undefined && src.issues.length) return undefined;
  const result = schema.safeParse(interpolate(src.value ?? {}, vars));
  if (result.success && !src.issues.length) return result.data;
  if (!result.success) issues.push(...result.error.issues.flatMap((i) => toIssues(src, i, schema)));
  return undefined;
}

type ZIssue = z.core.$ZodIssue;

function toIssues(src: YamlSource, issue: ZIssue, schema: z.ZodType): ConfigIssue[] {
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, path);
    return issue.keys.map((key) => {
      const pos = src.locate([...path, key], { key: true });
      const hint = nearest(key, known);
      return {
        file: src.file,
        ...(pos && { line: pos.line, col: pos.col }),
        path: formatPath([...path, key]),
        message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ''}${known.length ? ` (valid keys: ${known.join(', ')})` : ''}`,
      };
    });
  }
  const pos = src.locate(path);
  return [{ file: src.file, ...(pos && { line: pos.line, col: pos.col }), path: formatPath(path), message: describe(issue, src, path) }];
}

function describe(issue: ZIssue, src: YamlSource, path: PropertyKey[]): string {
  if (issue.code === 'invalid_type') {
    const got = valueAt(src.value, path);
    if (got === undefined) return `required: expected ${issue.expected}`;
    return `expected ${issue.expected}, got ${Array.isArray(got) ? 'array' : got === null ? 'null' : typeof got} ${JSON.stringify(got)}`;
  }
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'too_small' || issue.code === 'too_big' || issue.code === 'invalid_format') return `expected ${issue.message.replace(/^(Too small|Too big|Invalid string): (expected )?/i, '')}`;
  return issue.message;
}

function valueAt(value: unknown, path: PropertyKey[]): unknown {
  let v = value;
  for (const seg of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

/** Keys a strict object at `path` accepts, by walking the schema's shapes. */
function knownKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s: unknown = schema;
  for (const seg of [...path, null]) {
    // unwrap defaults/optionals/pipes
    for (let i = 0; i < 8; i++) {
      const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) break;
      if (def.innerType) s = def.innerType;
      else if (def.in && def.type === 'pipe') s = def.in;
      else break;
    }
    if (seg === null) break;
    const def = (s as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === 'object') s = (def.shape as Record<string, unknown>)[String(seg)];
    else if (def.type === 'record') s = def.valueType;
    else if (def.type === 'array') s = def.element;
    else return [];
  }
  const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as object).filter((k) => k !== '$schema') : [];
}
