import { describeDisk } from '../deploy/disk.ts';
import { status } from '../deploy/queries.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier status <env> [--config FILE] [--json]

Per host: the release serving, its health through the host's proxy, the proxy's target,
retained releases, maintenance mode, free disk space and inodes (under deploy.dir and Docker's
data root) and any deploy lock; each other role on the host (worker,
scheduler) with its release and its health command's verdict. Exit 1 when a host or role is unhealthy.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, commonOptions);
  if (values.help) return console.log(help), 0;
  const hosts = await status(targetFor(positionals[0], values.config, 'status'));
  if (values.json) printJson(hosts);
  else {
    for (const h of hosts) {
      if (h.web) {
        // "web" named only beside other roles: an app without roles reads as before.
        console.log(`${h.host}: ${h.roles?.length ? 'web ' : ''}${h.serving ?? '(nothing)'} ${h.health}${h.error ? ` error: ${h.error}` : ''}`);
        console.log(`  proxy -> ${h.proxyTarget ?? '(none)'}`);
        console.log(`  retained: ${h.retained.map((r) => `${r.release} (${r.state})`).join(', ') || '(none)'}`);
        if (h.since) console.log(`  since ${h.since} by ${h.by}`);
      } else console.log(`${h.host}: (no web role)${h.error ? ` error: ${h.error}` : ''}`);
      for (const r of h.roles ?? []) {
        console.log(`  ${r.role}: ${r.serving ?? '(nothing)'} ${r.health}${r.since ? ` since ${r.since}` : ''}`);
        console.log(`    retained: ${r.retained.map((x) => `${x.release} (${x.state})`).join(', ') || '(none)'}`);
      }
      if (h.maintenance) console.log(`  MAINTENANCE on since ${h.maintenance.since} by ${h.maintenance.by} (503 + page ${h.maintenance.page}, Retry-After ${h.maintenance.retryAfterSeconds}s)`);
      if (h.certificate) console.log(h.certificate.warning ? `  ! CERTIFICATE ${h.certificate.warning}` : `  certificate expires ${h.certificate.notAfter} (${h.certificate.daysLeft} days)`);
      for (const d of h.disk ?? []) console.log(`  disk ${describeDisk(d)}`);
      if (h.lock) console.log(`  LOCKED by ${h.lock.by} (${h.lock.command} ${h.lock.version}, run ${h.lock.run})`);
    }
  }
  return hosts.every((h) => h.health === 'healthy' && (h.roles ?? []).every((r) => r.health === 'healthy')) ? 0 : 1;
}
