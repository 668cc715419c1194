/**
 * The one redactor. Every secret value registered here is replaced by `***` in anything pier
 * prints, logs or writes (terminal, `--json`, report.json, audit lines, error messages), as
 * written and in the forms it travels in: URL-encoded, JSON-escaped, base64 (also inside a longer
 * base64 text, e.g. a Basic auth header), and each line of a multi-line value. Longer secrets are
 * replaced first; a short secret only where it is not part of a longer word, so plain text is never
 * garbled. Which values are secrets is the secret model's job (src/secrets/model.ts); this module
 * only matches. `StreamRedactor` does the same across the chunks of a stream.
 */
import { MIN_SECRET_LENGTH, SECRET_KEY } from './secret-names.ts';

const secrets = new Set<string>();
/**
 * Values shorter than this are not registered (a 1-2 character "secret" cannot be told from text);
 * the places that take runtime secrets refuse such values instead (src/secrets/model.ts).
 */
const MIN_LENGTH = MIN_SECRET_LENGTH;
/** Secrets shorter than this only match outside words (they could be part of ordinary words). */
const WORD_SAFE_LENGTH = 8;
/** Minimum length of a base64 fragment used for matching (shorter ones would match by chance). */
const MIN_BASE64 = 8;

let compiled: { re: RegExp; longest: number } | undefined;

export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  compiled = undefined;
}

/** Forget every registered secret (tests, and long-lived processes between runs). */
export function clearSecrets(): void {
  secrets.clear();
  compiled = undefined;
}

/** Every form a secret can be seen in: itself, its lines, URL-encoded, JSON-escaped, base64. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  for (const line of secret.split(/\r?\n/)) if (line.trim().length >= MIN_LENGTH) forms.add(line);
  forms.add(encodeURIComponent(secret));
  forms.add(encodeURIComponent(secret).replace(/%20/g, '+'));
  forms.add(JSON.stringify(secret).slice(1, -1));
  for (const b of base64Forms(secret)) forms.add(b);
  return [...forms].filter((f) => f.length >= MIN_LENGTH);
}

/**
 * The base64 characters that encode `secret` whatever its offset in a longer encoded text: for
 * each of the 3 byte alignments, the characters that depend on the secret's bytes only (standard
 * and URL-safe alphabets). Fragments shorter than MIN_BASE64 are left out.
 */
export function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const out: string[] = [];
  for (let k = 0; k < 3; k++) {
    const enc = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64').replace(/=+$/, '');
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + bytes.length)) / 6);
    const core = enc.slice(from, to);
    if (core.length < MIN_BASE64) continue;
    out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  // The whole encoding as written, padding included.
  if (bytes.length >= 6) out.push(bytes.toString('base64'));
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile(): { re: RegExp; longest: number } {
  if (compiled) return compiled;
  const forms = new Set<string>();
  for (const s of secrets) for (const f of secretForms(s)) forms.add(f);
  // Longest first: JavaScript takes the first alternative that matches at a position.
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  const alts = sorted.map((f) => (f.length >= WORD_SAFE_LENGTH ? escapeRe(f) : `(?<![A-Za-z0-9])${escapeRe(f)}(?![A-Za-z0-9])`));
  // Credentials inside URLs, registered or not: scheme://user:PASSWORD@host (the password runs
  // to the last @ before the host, so `p@ss` is covered whole).
  alts.push(URL_CREDENTIALS.source);
  compiled = { re: new RegExp(alts.join('|'), 'g'), longest: sorted[0]?.length ?? 0 };
  return compiled;
}

/** `scheme://user:` then the password up to the last `@` before whitespace or a `/`. */
const URL_CREDENTIALS = /(?<=\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/\s@]+:)[^\s/]+(?=@[^@\s/]*)/;

export function redact(text: string): string {
  if (!text) return text;
  return text.replace(compile().re, '***');
}

/** Deep copy of a value with every secret-looking key's value replaced by `***`, every string redacted. */
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

/**
 * Redaction across the chunks of a stream (compose logs, a container's output): a secret split
 * between two chunks is still found. Whole lines are passed on as they complete; a line longer
 * than `maxLine` is passed on except for a tail long enough to hold any secret.
 */
export class StreamRedactor {
  private pending = '';
  constructor(private readonly out: (text: string) => void, private readonly maxLine = 64 * 1024) {}

  write(chunk: string | Buffer): void {
    this.pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const nl = this.pending.lastIndexOf('\n');
    if (nl >= 0) {
      const done = this.pending.slice(0, nl + 1);
      this.pending = this.pending.slice(nl + 1);
      this.out(redact(done));
    }
    if (this.pending.length > this.maxLine) this.flushPrefix();
  }

  /** Pass on what is left (end of stream). */
  end(): void {
    if (this.pending) this.out(redact(this.pending));
    this.pending = '';
  }

  /** Emit all but a tail that could still be the start of a secret, never cutting a match. */
  private flushPrefix(): void {
    const { re, longest } = compile();
    const safe = this.pending.length - (longest + 1);
    if (safe <= 0) return;
    let cut = safe;
    re.lastIndex = 0;
    for (let m = re.exec(this.pending); m; m = re.exec(this.pending)) {
      if (m.index >= safe) break;
      if (m.index + m[0].length > safe) cut = m.index; // keep a straddling match whole for later
      if (m[0].length === 0) re.lastIndex++;
    }
    re.lastIndex = 0;
    this.out(redact(this.pending.slice(0, cut)));
    this.pending = this.pending.slice(cut);
  }
}
