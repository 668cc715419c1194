import { describe, expect, it } from 'vitest';
import { certFacts, covers, daysLeft, judgeCertificate, keyMatches, needsRenewal, RENEW_DAYS, WARN_DAYS } from '../../../src/certs/x509.ts';
import { judgeHostCert } from '../../../src/certs/certs.ts';
import { certificateStatus } from '../../../src/deploy/queries.ts';
import { certOnce, days, makeCert } from '../../helpers/certs.ts';

const hint = 'run: pier certs renew production';
const start = new Date('2026-01-01T00:00:00Z');
const end = new Date('2026-04-01T00:00:00Z');

describe('certificate facts and verdicts', async () => {
  const a = await certOnce('x509:a', () => makeCert(['app.example.com', 'www.app.example.com'], start, end));
  const other = await certOnce('x509:other', () => makeCert(['app.example.com'], start, end));
  const check = (o: Partial<{ cert: string; key: string }> = {}) => ({ source: 'certs/app.pem', keySource: 'certs/app.key', chainPem: o.cert ?? a.cert, keyPem: o.key ?? a.key });

  it('reads subject, issuer, names, dates and the chain length', () => {
    const f = certFacts(a.cert + other.cert);
    expect(f).toMatchObject({ subject: 'app.example.com', issuer: 'app.example.com', names: ['app.example.com', 'www.app.example.com'], chainLength: 2 });
    expect(f.notAfter.toISOString()).toBe(end.toISOString());
    expect(() => certFacts('nothing here')).toThrow(/no PEM certificate/);
  });

  it('tells a matching key from another one', () => {
    expect(keyMatches(a.cert, a.key)).toBe(true);
    expect(keyMatches(a.cert, other.key)).toBe(false);
  });

  it('days left, name coverage (wildcards one label deep)', () => {
    expect(daysLeft({ notAfter: end }, new Date('2026-03-30T12:00:00Z'))).toBe(1);
    expect(daysLeft({ notAfter: end }, new Date('2026-04-02T00:00:00Z'))).toBe(-1);
    expect(covers(['*.example.com'], 'www.example.com')).toBe(true);
    expect(covers(['*.example.com'], 'a.b.example.com')).toBe(false);
    expect(covers(['app.example.com'], 'APP.example.com')).toBe(true);
    expect(covers(['app.example.com'], 'www.app.example.com')).toBe(false);
  });

  it('a deploy: ok, warned under 14 days, refused expired / not yet valid / mismatched / missing name, each naming the file and the way forward', () => {
    const hosts = ['app.example.com', 'www.app.example.com'];
    expect(judgeCertificate(check(), hosts, new Date('2026-02-01T00:00:00Z'), hint)).toEqual({ level: 'ok', days: 59 });
    const warn = judgeCertificate(check(), hosts, days(-(WARN_DAYS - 1), end), hint);
    expect(warn).toMatchObject({ level: 'warn', days: WARN_DAYS - 1 });
    expect(judgeCertificate(check(), hosts, days(-WARN_DAYS, end), hint).level).toBe('ok');
    const expired = judgeCertificate(check(), hosts, days(1, end), hint);
    expect(expired).toEqual({ level: 'refuse', message: `certs/app.pem: certificate for app.example.com expired on ${end.toISOString()}; ${hint}` });
    expect(judgeCertificate(check(), hosts, days(-1, start), hint)).toMatchObject({ level: 'refuse', message: expect.stringContaining('is not valid before') });
    expect(judgeCertificate(check({ key: other.key }), hosts, start, hint)).toEqual({
      level: 'refuse', message: `certs/app.key: this private key does not belong to the certificate in certs/app.pem (mismatched pair); ${hint}`,
    });
    expect(judgeCertificate(check(), [...hosts, 'api.example.com'], days(10, start), hint)).toMatchObject({ level: 'refuse', message: expect.stringContaining('but not api.example.com (proxy.tls.hosts)') });
    expect(judgeCertificate(check({ key: 'garbage' }), hosts, start, hint)).toMatchObject({ level: 'refuse', message: expect.stringMatching(/^certs\/app\.key: not a readable private key/) });
    expect(judgeCertificate(check({ cert: 'garbage' }), hosts, start, hint)).toMatchObject({ level: 'refuse', message: expect.stringMatching(/^certs\/app\.pem: not a readable certificate/) });
  });

  it('renewal: none yet, names changed, under 30 days, forced; not otherwise', () => {
    const f = certFacts(a.cert);
    const hosts = ['app.example.com'];
    expect(needsRenewal(undefined, hosts, start)).toEqual({ renew: true, reason: 'no certificate yet' });
    expect(needsRenewal(f, ['new.example.com'], start)).toMatchObject({ renew: true, reason: expect.stringContaining('names changed') });
    expect(needsRenewal(f, hosts, days(-(RENEW_DAYS - 1), end))).toMatchObject({ renew: true, reason: `${RENEW_DAYS - 1} day(s) left (< ${RENEW_DAYS})` });
    expect(needsRenewal(f, hosts, days(-(RENEW_DAYS + 1), end))).toMatchObject({ renew: false });
    expect(needsRenewal(f, hosts, start, true)).toMatchObject({ renew: true, reason: 'forced (--force)' });
  });

  it('a host\'s certificate: missing, expired, differing from the stored one, under 14 days; pier status words it with the fix', () => {
    const local = certFacts(a.cert);
    expect(judgeHostCert('web1', '', local, start)).toMatchObject({ state: 'missing' });
    expect(judgeHostCert('web1', a.cert, local, days(1, end))).toMatchObject({ state: 'expired' });
    expect(judgeHostCert('web1', other.cert, local, start)).toMatchObject({ state: 'differs' });
    expect(judgeHostCert('web1', a.cert, local, days(-3, end))).toMatchObject({ state: 'warn', daysLeft: 3, subject: 'app.example.com', issuer: 'app.example.com' });
    expect(judgeHostCert('web1', a.cert, local, start)).toMatchObject({ state: 'ok', names: ['app.example.com', 'www.app.example.com'] });
    expect(certificateStatus('web1', a.cert, 'production', days(-3, end))).toEqual({ notAfter: end.toISOString(), daysLeft: 3, state: 'warn', warning: 'expires in 3 day(s): run pier certs renew production' });
    expect(certificateStatus('web1', a.cert, 'production', start)).toEqual({ notAfter: end.toISOString(), daysLeft: 90, state: 'ok' });
    expect(certificateStatus('web1', '', 'production', start).warning).toBe('missing (no certificate on this host): run pier certs renew production');
  });
});
