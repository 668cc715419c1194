/**
 * Secret redaction. Every value registered here is replaced by `***` in anything pier prints,
 * logs or writes to a report. Config loading registers secret values as it reads them.
 */
const secrets = new Set<string>();

/** Keys whose values are secret wherever they appear (config, env files). */
export const SECRET_KEY = /(pass(word)?|secret|token|api[_-]?key|private[_-]?key|credential|auth)/i;

export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary text; they are not credible secrets anyway.
  if (value && value.length >= 4) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  // Credentials embedded in URLs (postgres://user:pass@host).
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]+:)[^@\s/]+@/gi, '$1***@');
}

/** Deep copy of a value with every secret-looking key's value replaced by `***`. */
export function redactObject<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactObject(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) && typeof v === 'string' && v !== '' && !/(Env|File)$/.test(k) ? '***' : redactObject(v);
    }
    return out as T;
  }
  return (typeof value === 'string' ? redact(value) : value) as T;
}
