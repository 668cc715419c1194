import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkHostKey, fingerprint, knownHostsName, knownKeys, sameFingerprint } from '../../../src/deploy/known-hosts.ts';

const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnly0000000000000000000000', 'base64');
const other = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyForTestsOnly000000000000000000000', 'base64');
const b64 = key.toString('base64');

describe('fingerprints', () => {
  it('matches ssh-keygen -lf (SHA256, base64 without padding)', () => {
    const expected = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
    expect(fingerprint(key)).toBe(expected);
    expect(fingerprint(key)).not.toMatch(/=$/);
    expect(sameFingerprint(`${expected}=`, expected)).toBe(true);
  });
});

describe('known_hosts', () => {
  it('names non-22 ports [host]:port', () => {
    expect(knownHostsName('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
  });
  it('matches plain, wildcard and hashed entries; honours negation and @revoked', () => {
    const salt = Buffer.from('0123456789abcdef0123');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[web.example]:2222').digest('base64')}`;
    const content = [
      '# comment',
      `a.example,b.example ssh-ed25519 ${b64}`,
      `*.prod.example,!db.prod.example ssh-ed25519 ${b64}`,
      `${hashed} ssh-ed25519 ${b64}`,
      `@revoked old.example ssh-ed25519 ${b64}`,
    ].join('\n');
    expect(knownKeys(content, 'b.example', 22).keys).toHaveLength(1);
    expect(knownKeys(content, 'web1.prod.example', 22).keys).toHaveLength(1);
    expect(knownKeys(content, 'db.prod.example', 22).keys).toHaveLength(0);
    expect(knownKeys(content, 'web.example', 2222).keys).toHaveLength(1);
    expect(knownKeys(content, 'web.example', 22).keys).toHaveLength(0);
    expect(knownKeys(content, 'old.example', 22).revoked).toHaveLength(1);
  });
  it('accepts a matching key, refuses unknown, changed and revoked ones (no trust on first use)', () => {
    const kh = `h1 ssh-ed25519 ${b64}\n@revoked h3 ssh-ed25519 ${b64}\n`;
    expect(checkHostKey(key, { knownHosts: kh, host: 'h1', port: 22 })).toEqual({ ok: true });
    expect(checkHostKey(other, { knownHosts: kh, host: 'h1', port: 22 })).toEqual({ ok: false, reason: 'changed', seen: fingerprint(other) });
    expect(checkHostKey(key, { knownHosts: kh, host: 'h2', port: 22 })).toEqual({ ok: false, reason: 'unknown', seen: fingerprint(key) });
    expect(checkHostKey(key, { knownHosts: kh, host: 'h3', port: 22 })).toMatchObject({ ok: false, reason: 'revoked' });
    expect(checkHostKey(key, { host: 'h1', port: 22 })).toMatchObject({ ok: false, reason: 'unknown' });
  });
  it('prefers a pinned fingerprint over known_hosts', () => {
    expect(checkHostKey(key, { pinned: fingerprint(key), knownHosts: '', host: 'h', port: 22 })).toEqual({ ok: true });
    expect(checkHostKey(other, { pinned: fingerprint(key), knownHosts: `h ssh-ed25519 ${other.toString('base64')}`, host: 'h', port: 22 })).toMatchObject({ ok: false, reason: 'changed' });
  });
});
