import { certsStatus, renewCerts } from '../certs/certs.ts';
import { WARN_DAYS } from '../certs/x509.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier certs status|renew <env> [--force] [--config FILE] [--json]

HTTPS certificates of an environment (proxy.tls in environments/<env>.yaml).

status   per host: the certificate its proxy serves (subject, issuer, names, expiry, days left);
         exit 1 when a host has none, an expired one, one under ${WARN_DAYS} days, or not the
         environment's current certificate
renew    under the deploy lock. acme: a new certificate when fewer than 30 days remain (or
         none, or the names changed; --force: now), its HTTP-01 challenges answered by every
         host's proxy; the account key and certificate are kept in .pier/certs/<env>/ (0600).
         certificate files: checked (matching key, not expired, every name) before any host
         changes. Then the pair is uploaded (0600) to every host and each proxy reloaded
         gracefully (no request dropped).

Exit: 0 ok; 1 status found a problem; 2 bad usage or config; 3 refused certificate, ACME or
hosts failed, lock held.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, force: { type: 'boolean' } });
  if (values.help) return console.log(help), 0;
  const [sub, env] = positionals;
  if (sub !== 'status' && sub !== 'renew') throw new UsageError(`pier certs: expected status or renew, got "${sub ?? ''}"`);
  const target = targetFor(env, values.config, `certs ${sub}`);
  if (sub === 'renew') {
    const r = await renewCerts(target, { force: Boolean(values.force), log: (s) => console.error(s) });
    if (values.json) printJson(r);
    else {
      console.log(`${r.renewed ? 'renewed' : 'kept'}: ${r.subject} issued by ${r.issuer}, expires ${r.notAfter} (${r.reason})`);
      for (const h of r.hosts) console.log(`  ${h.host}: ${h.uploaded ? 'uploaded, proxy reloaded' : 'already had it, proxy reloaded'}`);
    }
    return 0;
  }
  const s = await certsStatus(target);
  if (values.json) printJson(s);
  else {
    for (const h of s.hosts) {
      console.log(h.subject
        ? `${h.host}: ${h.state} ${h.subject} (${(h.names ?? []).join(', ')}) issued by ${h.issuer}, expires ${h.notAfter} (${h.daysLeft} days)${h.detail ? `: ${h.detail}` : ''}`
        : `${h.host}: ${h.state}${h.detail ? `: ${h.detail}` : ''}`);
    }
    if (s.hosts.some((h) => h.state !== 'ok')) console.log(`fix: pier certs renew ${target.envName}`);
  }
  return s.hosts.every((h) => h.state === 'ok') ? 0 : 1;
}
