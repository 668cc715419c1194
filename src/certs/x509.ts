/**
 * Certificates as facts and decisions, over node:crypto's X509Certificate: subject, issuer,
 * names, expiry, whether a key belongs to a certificate; when to renew, when to warn, when a
 * deploy is refused. Pure (no I/O: PEM text in, values out; "now" passed in).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';

/** Renew when fewer days than this remain (Let's Encrypt's own advice: at two thirds of 90 days). */
export const RENEW_DAYS = 30;
/** `pier status` and deploy preflight warn when fewer days than this remain. */
export const WARN_DAYS = 14;

export interface CertFacts {
  subject: string;
  issuer: string;
  /** DNS names (subjectAltName, else the subject CN). */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint of the leaf (what `certs status` compares across hosts). */
  fingerprint: string;
  /** Certificates in the chain text (leaf + intermediates). */
  chainLength: number;
}

const cnOf = (dn: string) => /(?:^|\n)CN=([^\n]+)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ');

/** The PEM blocks of a chain, in order. */
export function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Facts of the leaf (first certificate) of a PEM chain; throws with what is wrong. */
export function certFacts(chainPem: string): CertFacts {
  const blocks = pemBlocks(chainPem);
  if (!blocks.length) throw new Error('no PEM certificate (-----BEGIN CERTIFICATE-----) found');
  const leaf = new X509Certificate(blocks[0]!);
  const sans = (leaf.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  return {
    subject: cnOf(leaf.subject),
    issuer: cnOf(leaf.issuer),
    names: sans.length ? sans : [cnOf(leaf.subject).toLowerCase()],
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    fingerprint: leaf.fingerprint256,
    chainLength: blocks.length,
  };
}

/** Does this private key (PEM) belong to the chain's leaf? Throws when the key is unreadable. */
export function keyMatches(chainPem: string, keyPem: string): boolean {
  const leaf = new X509Certificate(pemBlocks(chainPem)[0] ?? chainPem);
  return leaf.checkPrivateKey(createPrivateKey(keyPem));
}

/** Whole days left (negative once expired; 0 on the last day). */
export function daysLeft(facts: Pick<CertFacts, 'notAfter'>, now: Date): number {
  return Math.floor((facts.notAfter.getTime() - now.getTime()) / 86_400_000);
}

/** Does a certificate name cover `host`? (exact, or a `*.` wildcard one label deep) */
export function covers(names: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  return names.some((n) => n === h || (n.startsWith('*.') && h.endsWith(n.slice(1)) && !h.slice(0, -n.length + 1).includes('.')));
}

export type Verdict =
  | { level: 'ok'; days: number }
  | { level: 'warn'; days: number; message: string }
  | { level: 'refuse'; message: string };

export interface CertCheck {
  /** Where the certificate came from, for messages: a file path or the ACME store. */
  source: string;
  /** Where the key came from. */
  keySource: string;
  chainPem: string;
  keyPem: string;
}

/**
 * May a deploy go ahead with this certificate for `hosts`? Refused: unreadable, key not matching,
 * expired (or not yet valid), a configured name not covered. Warned: fewer than WARN_DAYS left.
 * `renewHint` is the way forward named in every refusal and warning.
 */
export function judgeCertificate(c: CertCheck, hosts: readonly string[], now: Date, renewHint: string): Verdict {
  let facts: CertFacts;
  try {
    facts = certFacts(c.chainPem);
  } catch (e) {
    return { level: 'refuse', message: `${c.source}: not a readable certificate (${(e as Error).message}); ${renewHint}` };
  }
  let matches: boolean;
  try {
    matches = keyMatches(c.chainPem, c.keyPem);
  } catch (e) {
    return { level: 'refuse', message: `${c.keySource}: not a readable private key (${(e as Error).message.split('\n')[0]}); ${renewHint}` };
  }
  if (!matches) return { level: 'refuse', message: `${c.keySource}: this private key does not belong to the certificate in ${c.source} (mismatched pair); ${renewHint}` };
  const days = daysLeft(facts, now);
  if (facts.notAfter.getTime() <= now.getTime()) return { level: 'refuse', message: `${c.source}: certificate for ${facts.subject} expired on ${facts.notAfter.toISOString()}; ${renewHint}` };
  if (facts.notBefore.getTime() > now.getTime()) return { level: 'refuse', message: `${c.source}: certificate for ${facts.subject} is not valid before ${facts.notBefore.toISOString()}; ${renewHint}` };
  const missing = hosts.filter((h) => !covers(facts.names, h));
  if (missing.length) return { level: 'refuse', message: `${c.source}: certificate names ${facts.names.join(', ')} but not ${missing.join(', ')} (proxy.tls.hosts); ${renewHint}` };
  if (days < WARN_DAYS) return { level: 'warn', days, message: `${c.source}: certificate for ${facts.subject} expires in ${days} day(s) (${facts.notAfter.toISOString()}); ${renewHint}` };
  return { level: 'ok', days };
}

/** Should `pier certs renew` ask the CA for a new certificate? (none, unreadable, names changed, < RENEW_DAYS left, or --force) */
export function needsRenewal(facts: CertFacts | undefined, hosts: readonly string[], now: Date, force = false): { renew: boolean; reason: string } {
  if (force) return { renew: true, reason: 'forced (--force)' };
  if (!facts) return { renew: true, reason: 'no certificate yet' };
  const missing = hosts.filter((h) => !covers(facts.names, h));
  if (missing.length) return { renew: true, reason: `names changed: ${missing.join(', ')} not covered` };
  const days = daysLeft(facts, now);
  if (days < RENEW_DAYS) return { renew: true, reason: `${days} day(s) left (< ${RENEW_DAYS})` };
  return { renew: false, reason: `${days} day(s) left (renewal under ${RENEW_DAYS})` };
}
