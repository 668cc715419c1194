/**
 * Compose-style variable interpolation in string values: `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `$$` for a literal `$`. Lets committed files name public images while the
 * git-ignored root .env written by `npm run setup` selects local stand-ins.
 */
export function interpolate(value: unknown, vars: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return interpolateString(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolate(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, vars)]));
  }
  return value;
}

export function interpolateString(s: string, vars: Record<string, string | undefined>): string {
  return s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g, (m, name: string | undefined, op: string | undefined, def: string | undefined) => {
    if (m === '$$') return '$';
    const v = vars[name!];
    if (op === ':-') return v ? v : (def ?? '');
    if (op === '-') return v ?? def ?? '';
    return v ?? '';
  });
}
