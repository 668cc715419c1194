/**
 * Host-key checking, pure: OpenSSH fingerprints and known_hosts matching (plain and hashed
 * entries, `[host]:port` for non-22 ports).
 */
import { createHash, createHmac } from 'node:crypto';

/** `SHA256:<base64 without padding>` of a raw public key blob, as `ssh-keygen -lf` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Same fingerprint with or without the trailing `=`. */
export function sameFingerprint(a: string, b: string): boolean {
  return a.replace(/=+$/, '') === b.replace(/=+$/, '');
}

/** How a host appears in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}

/** Key blobs known_hosts lists for `host:port` (negated patterns and @revoked honoured). */
export function knownKeys(content: string, host: string, port: number): { keys: Buffer[]; revoked: Buffer[] } {
  const name = knownHostsName(host, port);
  const keys: Buffer[] = [];
  const revoked: Buffer[] = [];
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    const marker = parts[0]!.startsWith('@') ? parts.shift() : undefined;
    const [patterns, , b64] = parts;
    if (!patterns || !b64) continue;
    let hit = false;
    for (const p of patterns.split(',')) {
      if (p.startsWith('!')) {
        if (patternMatches(p.slice(1), name)) { hit = false; break; }
      } else if (patternMatches(p, name)) hit = true;
    }
    if (!hit) continue;
    const blob = Buffer.from(b64, 'base64');
    if (marker === '@revoked') revoked.push(blob);
    else if (marker === undefined) keys.push(blob);
  }
  return { keys, revoked };
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; seen: string };

/**
 * Decide whether a presented key is trusted: a pinned fingerprint wins; otherwise known_hosts.
 * Unknown keys are refused (no trust on first use).
 */
export function checkHostKey(presented: Buffer, opts: { pinned?: string; knownHosts?: string; host: string; port: number }): HostKeyVerdict {
  const seen = fingerprint(presented);
  if (opts.pinned) return sameFingerprint(opts.pinned, seen) ? { ok: true } : { ok: false, reason: 'changed', seen };
  if (opts.knownHosts !== undefined) {
    const { keys, revoked } = knownKeys(opts.knownHosts, opts.host, opts.port);
    if (revoked.some((k) => k.equals(presented))) return { ok: false, reason: 'revoked', seen };
    if (keys.some((k) => k.equals(presented))) return { ok: true };
    return { ok: false, reason: keys.length ? 'changed' : 'unknown', seen };
  }
  return { ok: false, reason: 'unknown', seen };
}
