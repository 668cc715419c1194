// Certificate facts and verdicts at their edges (mutation testing's survivors): a subject without
// subjectAltName, a DN whose other fields contain "CN=", IP entries among the names, the exact
// moment of expiry and of validity, the day a warning or renewal starts, the pure parts of certs.ts.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acmeStore, judgeHostCert, localCertificate, renewHint, tlsProxyConf } from '../../../src/certs/certs.ts';
import { certFacts, covers, daysLeft, judgeCertificate, keyMatches, needsRenewal, pemBlocks, RENEW_DAYS, WARN_DAYS } from '../../../src/certs/x509.ts';
import { renderBootstrapConf } from '../../../src/deploy/commands/nginx-tls.ts';
import { renderProxyConf } from '../../../src/deploy/commands/nginx.ts';
import type { HostOps } from '../../../src/deploy/host-ops.ts';
import type { DeployTarget } from '../../../src/deploy/target.ts';
import { ConfigError, EnvironmentError } from '../../../src/util/errors.ts';
import { exec } from '../../../src/util/exec.ts';
import { certOnce, days, makeCert } from '../../helpers/certs.ts';

/** A self-signed certificate with exactly this subject and these extensions (none: no SAN). */
function selfSigned(subj: string, ext: string[] = []): Promise<{ cert: string; key: string }> {
  return certOnce(`x509-edges:${subj}:${ext.join(',')}`, () => makeSelfSigned(subj, ext));
}
async function makeSelfSigned(subj: string, ext: string[]): Promise<{ cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pier-cert-'));
  await exec(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subj, '-days', '30', ...ext.flatMap((e) => ['-addext', e]), '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

const hint = 'run: pier certs renew production';
const start = new Date('2026-01-01T00:00:00Z');
const end = new Date('2026-04-01T00:00:00Z');

describe('certificate facts', async () => {
  const noSan = await selfSigned('/O=NotCN=fake/CN=App.Example.COM');
  const noCn = await selfSigned('/O=Acme/OU=Ops', ['subjectAltName=DNS:a.example.com']);
  const mixed = await selfSigned('/CN=x.example.com', ['subjectAltName=IP:127.0.0.1,DNS:WWW.Example.com,email:a@b.c,DNS:api.example.com']);
  const a = await certOnce('x509-edges:a1', () => makeCert(['app.example.com'], start, end));

  it('the subject CN, not a "CN=" inside another field; names fall back to it, lower-cased', () => {
    const f = certFacts(noSan.cert);
    expect(f.subject).toBe('App.Example.COM');
    expect(f.issuer).toBe('App.Example.COM');
    expect(f.names).toEqual(['app.example.com']);
  });
  it('a DN without CN is shown whole, one line', () => {
    expect(certFacts(noCn.cert).subject).toBe('O=Acme, OU=Ops');
    expect(certFacts(noCn.cert).names).toEqual(['a.example.com']);
  });
  it('only DNS entries of subjectAltName are names (lower-cased, in order)', () => {
    expect(certFacts(mixed.cert).names).toEqual(['www.example.com', 'api.example.com']);
  });
  it('blocks of a chain between other text, the leaf first; fingerprint and dates of the leaf', () => {
    const chain = `leaf:\n${a.cert}\nintermediate:\n${mixed.cert}trailer\n`;
    expect(pemBlocks(chain)).toHaveLength(2);
    expect(pemBlocks(chain)[0]).toBe(a.cert.trim());
    expect(pemBlocks('nothing')).toEqual([]);
    const f = certFacts(chain);
    expect(f).toMatchObject({ subject: 'app.example.com', chainLength: 2, notBefore: start, notAfter: end });
    expect(f.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(f.fingerprint).not.toBe(certFacts(mixed.cert).fingerprint);
  });
  it("the key is checked against the chain's leaf, not the next certificate", () => {
    expect(keyMatches(`${a.cert}${mixed.cert}`, a.key)).toBe(true);
    expect(keyMatches(`${a.cert}${mixed.cert}`, mixed.key)).toBe(false);
    // A bare PEM without the chain's own markers found still reads (the whole text is tried).
    expect(keyMatches(a.cert, a.key)).toBe(true);
  });
});

describe('days and names', () => {
  it('whole days left: 0 on the last day, to the millisecond', () => {
    expect(daysLeft({ notAfter: end }, new Date(end.getTime() - 1))).toBe(0);
    expect(daysLeft({ notAfter: end }, new Date(end.getTime() - 86_400_000))).toBe(1);
    expect(daysLeft({ notAfter: end }, new Date(end.getTime() - 86_400_000 + 1))).toBe(0);
    expect(daysLeft({ notAfter: end }, end)).toBe(0);
  });
  it('a wildcard covers one label, never the bare domain nor a look-alike suffix', () => {
    expect(covers(['*.example.com'], 'ab.example.com')).toBe(true);
    expect(covers(['*.example.com'], 'AB.Example.com')).toBe(true);
    expect(covers(['*.example.com'], 'example.com')).toBe(false);
    expect(covers(['*.example.com'], 'abexample.com')).toBe(false);
    expect(covers(['*.example.com'], 'x.evil-example.com')).toBe(false);
    expect(covers(['x.example.com'], 'y.example.com')).toBe(false);
    expect(covers(['other.com', 'y.example.com'], 'y.example.com')).toBe(true);
    expect(covers([], 'y.example.com')).toBe(false);
    // Only a leading "*." is a wildcard.
    expect(covers(['a*.example.com'], 'ab.example.com')).toBe(false);
  });
});

describe('verdicts at their boundaries', async () => {
  const a = await certOnce('x509-edges:a2', () => makeCert(['app.example.com', 'www.app.example.com'], start, end));
  const check = { source: 'certs/app.pem', keySource: 'certs/app.key', chainPem: a.cert, keyPem: a.key };
  const hosts = ['app.example.com'];

  it('refused at the exact moment of expiry; valid from the exact moment notBefore says', () => {
    expect(judgeCertificate(check, hosts, end, hint).level).toBe('refuse');
    expect(judgeCertificate(check, hosts, new Date(end.getTime() - 1), hint)).toMatchObject({ level: 'warn', days: 0, message: `certs/app.pem: certificate for app.example.com expires in 0 day(s) (${end.toISOString()}); ${hint}` });
    expect(judgeCertificate(check, hosts, start, hint)).toEqual({ level: 'ok', days: 90 });
    expect(judgeCertificate(check, hosts, new Date(start.getTime() - 1), hint)).toEqual({
      level: 'refuse', message: `certs/app.pem: certificate for app.example.com is not valid before ${start.toISOString()}; ${hint}`,
    });
  });
  it('every missing name listed, the names it has too', () => {
    expect(judgeCertificate(check, ['app.example.com', 'a.example.com', 'b.example.com'], start, hint)).toEqual({
      level: 'refuse', message: `certs/app.pem: certificate names app.example.com, www.app.example.com but not a.example.com, b.example.com (proxy.tls.hosts); ${hint}`,
    });
  });
  it('an unreadable key: the first line of the error, the hint', () => {
    const v = judgeCertificate({ ...check, keyPem: 'garbage' }, hosts, start, hint);
    expect(v.level).toBe('refuse');
    const msg = (v as { message: string }).message;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toMatch(/^certs\/app\.key: not a readable private key \(.+\); run: pier certs renew production$/);
    // The whole first line of what the key parser said, not a piece of it.
    let said = '';
    try {
      keyMatches(check.chainPem, 'garbage');
    } catch (e) {
      said = (e as Error).message.split('\n')[0]!;
    }
    expect(said.length).toBeGreaterThan(1);
    expect(msg).toBe(`certs/app.key: not a readable private key (${said}); ${hint}`);
    expect((judgeCertificate({ ...check, chainPem: 'garbage' }, hosts, start, hint) as { message: string }).message).toBe(
      `certs/app.pem: not a readable certificate (no PEM certificate (-----BEGIN CERTIFICATE-----) found); ${hint}`,
    );
  });
  it('renewal: not with exactly RENEW_DAYS left, names changed named; force wins over everything', () => {
    const f = certFacts(a.cert);
    expect(needsRenewal(f, hosts, days(-RENEW_DAYS, end))).toEqual({ renew: false, reason: `${RENEW_DAYS} day(s) left (renewal under ${RENEW_DAYS})` });
    expect(needsRenewal(f, hosts, new Date(end.getTime() - RENEW_DAYS * 86_400_000 + 1)).renew).toBe(true);
    expect(needsRenewal(f, ['app.example.com', 'n1.example.com', 'n2.example.com'], start)).toEqual({ renew: true, reason: 'names changed: n1.example.com, n2.example.com not covered' });
    expect(needsRenewal(undefined, hosts, start, true)).toEqual({ renew: true, reason: 'forced (--force)' });
    expect(needsRenewal(f, hosts, start, false)).toEqual({ renew: false, reason: `90 day(s) left (renewal under ${RENEW_DAYS})` });
    expect(WARN_DAYS).toBeLessThan(RENEW_DAYS);
  });

  it("a host's certificate: blank is missing, garbage an error with why, expired at the moment, warned under 14 days, no local one to differ from", () => {
    const local = certFacts(a.cert);
    expect(judgeHostCert('web1', ' \n', local, start)).toEqual({ host: 'web1', state: 'missing', detail: 'no certificate on this host' });
    expect(judgeHostCert('web1', 'garbage', local, start)).toEqual({ host: 'web1', state: 'error', detail: 'no PEM certificate (-----BEGIN CERTIFICATE-----) found' });
    expect(judgeHostCert('web1', a.cert, local, end)).toMatchObject({ state: 'expired', daysLeft: 0 });
    expect(judgeHostCert('web1', a.cert, local, new Date(end.getTime() - 1))).toMatchObject({ state: 'warn', daysLeft: 0 });
    expect(judgeHostCert('web1', a.cert, local, days(-14, end))).toEqual({
      host: 'web1', subject: 'app.example.com', issuer: 'app.example.com', names: ['app.example.com', 'www.app.example.com'], notAfter: end.toISOString(), daysLeft: 14, fingerprint: local.fingerprint, state: 'ok',
    });
    expect(judgeHostCert('web1', a.cert, local, new Date(end.getTime() - 14 * 86_400_000 + 1))).toMatchObject({ state: 'warn', daysLeft: 13 });
    expect(judgeHostCert('web1', a.cert, undefined, start)).toMatchObject({ state: 'ok', daysLeft: 90 });
  });
  it("a different certificate on a host says so and how it is fixed, even when it is about to expire", async () => {
    const other = await certOnce('x509-edges:other', () => makeCert(['app.example.com'], start, end));
    expect(judgeHostCert('web1', other.cert, certFacts(a.cert), days(-3, end))).toMatchObject({ state: 'differs', detail: 'not the certificate stored for this environment: pier certs renew uploads it' });
  });
});

describe('certs.ts: store paths, the hint, the proxy config around a certificate change', () => {
  it('the ACME store is per environment under .pier/certs', () => {
    expect(acmeStore({ root: '/app', envName: 'production' })).toEqual({
      dir: '/app/.pier/certs/production', accountKey: '/app/.pier/certs/production/account.key', cert: '/app/.pier/certs/production/cert.pem', key: '/app/.pier/certs/production/key.pem',
    });
  });
  it('the way forward: renew for ACME, replace the files otherwise', () => {
    expect(renewHint({ envName: 'staging', tls: { acme: { directory: 'd', email: 'e' } } as DeployTarget['tls'] })).toBe('run: pier certs renew staging');
    expect(renewHint({ envName: 'staging', tls: { certificate: { cert: 'c', key: 'k' } } as DeployTarget['tls'] })).toBe('replace the files named in proxy.tls.certificate, then run: pier certs renew staging');
    expect(renewHint({ envName: 'staging', tls: undefined })).toBe('replace the files named in proxy.tls.certificate, then run: pier certs renew staging');
  });

  const asked: boolean[] = [];
  const ops = { proxyTls: (serve: boolean) => (asked.push(serve), { port: 443, serve }) } as unknown as HostOps;
  it("re-renders a host's releases (weights kept) with TLS served as asked", () => {
    const upstreams = [
      { address: 'api-v1:3000', release: 'v1', container: 'api-v1', image: 'img:v1', weight: 9 },
      { address: 'api-v2:3000', release: 'v2', container: 'api-v2', image: 'img:v2', weight: 1 },
    ];
    const current = renderProxyConf({ upstreams });
    expect(tlsProxyConf('web1', current, ops, true)).toBe(renderProxyConf({ upstreams, tls: { port: 443, serve: true } }));
    expect(tlsProxyConf('web1', current, ops, false)).toBe(renderProxyConf({ upstreams, tls: { port: 443, serve: false } }));
    expect(asked).toEqual([true, false]);
    const single = [{ address: 'api-v1:3000', release: 'v1', container: 'api-v1', image: 'img:v1' }];
    const out = tlsProxyConf('web1', renderProxyConf({ upstreams: single }), ops, true);
    expect(out).toBe(renderProxyConf({ upstreams: single, tls: { port: 443, serve: true } }));
    expect(out).not.toContain('"weight"');
  });
  it('no release yet (nothing, or the bootstrap config): the bootstrap config; an older config without its record: refused naming the host', () => {
    expect(tlsProxyConf('web1', '', ops, true)).toBe(renderBootstrapConf());
    expect(tlsProxyConf('web1', ' \n', ops, true)).toBe(renderBootstrapConf());
    expect(tlsProxyConf('web1', renderBootstrapConf(), ops, true)).toBe(renderBootstrapConf());
    const old = 'server {\n    listen 80;\n}\n';
    expect(() => tlsProxyConf('web2', old, ops, true)).toThrow(EnvironmentError);
    expect(() => tlsProxyConf('web2', old, ops, true)).toThrow('web2: its proxy config does not record what it serves (written by an older pier)');
    // Not the bootstrap header at the start: an older config that merely mentions it is refused.
    expect(() => tlsProxyConf('web2', `${old}# Managed by pier certs`, ops, true)).toThrow(EnvironmentError);
  });
  it('the refusal of an older config says how to get past it', () => {
    let err: unknown;
    try {
      tlsProxyConf('web2', 'server {\n    listen 80;\n}\n', ops, true);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).hint).toBe('deploy once with this pier version (without proxy.tls), then run pier certs renew');
  });
  it('an environment without proxy.tls has no certificate to look at: a configuration error naming its file and key', () => {
    const plain = { root: '/nonexistent', envName: 'staging', tls: undefined } as unknown as DeployTarget;
    let err: unknown;
    try {
      localCertificate(plain);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ file: 'environments/staging.yaml', path: 'proxy.tls', message: 'not set: this environment serves plain HTTP (see README, HTTPS)' }]);
  });
});
