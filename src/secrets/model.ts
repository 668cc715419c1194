/**
 * The secret model: which values are secrets. A variable is secret when its name is declared in the
 * environment's `secrets:` list, when it comes from a secret manager (`env: {NAME: {from: [...]}}`),
 * or when its name looks like one (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`, `*_KEY`, ...); the password
 * inside a URL (`scheme://user:PASSWORD@host`) is secret whatever the name. Everything else is plain
 * configuration and is shown as is (`NODE_ENV=production` must not turn "production" into `***`).
 * Pure.
 */
import { MIN_SECRET_LENGTH, SECRET_KEY } from '../util/secret-names.ts';

export { MIN_SECRET_LENGTH };

/** The password of a URL with credentials, up to the last `@` before the host (`p@ss` whole). */
export function urlPassword(value: string): string | undefined {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/\s@]*:([^\s/]+)@[^@\s/]*(?:[/?#]\S*)?$/.exec(value.trim())?.[1];
}

/** Why a short secret is refused, for messages that say how long it was (never the value itself). */
export function tooShortMessage(length: number): string {
  return `${length} character${length === 1 ? '' : 's'}: a secret this short cannot be redacted from output; expected at least ${MIN_SECRET_LENGTH} characters`;
}

/**
 * Names of `vars` the user made secrets (`declared`: the `secrets:` list, encrypted values, manager
 * references) whose value is 1-2 characters long (empty is "not set", not short). A name that only
 * looks secret is not refused: `LOG_SECRETS_ON_START=1` is a flag, and a 1-2 character value
 * cannot be redacted anyway (it stays plain configuration).
 */
export function tooShortSecrets(vars: Record<string, string>, declared: readonly string[] = []): string[] {
  return Object.entries(vars).filter(([k, v]) => v !== '' && v.length < MIN_SECRET_LENGTH && declared.includes(k)).map(([k]) => k);
}

export function isSecretKey(name: string, declared: readonly string[] = []): boolean {
  return declared.includes(name) || SECRET_KEY.test(name);
}

/**
 * The secret values among `vars`: values of secret names, and URL passwords (as written and, when
 * the escapes are valid, decoded; a malformed escape like `50%off` is kept literal, never an error).
 */
export function secretValues(vars: Record<string, string>, declared: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(vars)) {
    if (!v) continue;
    if (isSecretKey(k, declared)) out.push(v);
    const pw = urlPassword(v);
    if (!pw) continue;
    out.push(pw);
    try {
      out.push(decodeURIComponent(pw));
    } catch {
      // Not percent-encoding: the literal form above is what can appear.
    }
  }
  return out;
}
