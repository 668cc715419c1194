/** Read-only verbs: `pier status` and `pier releases`. They take no lock and change nothing. */
import { parseProxyServes } from './commands/nginx.ts';
import { withHosts } from './fleet.ts';
import { readFleetLock } from './lock.ts';
import type { LockInfo, ReleaseRecord } from './records.ts';
import type { DeployTarget } from './target.ts';
import type { MaintenanceRecord } from './commands/maintenance.ts';
import { maintenanceOf } from './maintenance.ts';
import { judgeHostCert } from '../certs/certs.ts';
import type { DiskFacts } from './disk.ts';

export interface HostStatusReport {
  host: string;
  serving?: string;
  since?: string;
  by?: string;
  health: string;
  proxyTarget?: string;
  retained: { release: string; state: string }[];
  lock?: LockInfo;
  /** Set while maintenance mode is on (pier maintenance). */
  maintenance?: MaintenanceRecord;
  /** proxy.tls: the certificate the host's proxy has, and a warning under 14 days, expired or missing. */
  certificate?: { notAfter?: string; daysLeft?: number; state: string; warning?: string };
  error?: string;
  /** Whether the host runs web (behind its proxy); a worker-only host has no HTTP health. */
  web: boolean;
  /** Roles other than web on this host: what each runs and its health (its command). */
  roles?: { role: string; serving?: string; container?: string; since?: string; health: string; retained: { release: string; state: string }[] }[];
  /** Free space and inodes under deploy.dir and Docker's data root (when another filesystem). */
  disk?: DiskFacts[];
}

/**
 * What a proxy config points at, for `pier status`: `v2 (api-v2-a1b2c3)`, with canary weights; a
 * config written by an older pier (addresses, no identities) by its release map. Pure.
 */
export function proxyTargetOf(conf: string): string | undefined {
  const serves = parseProxyServes(conf);
  if (serves.length) return serves.map((s) => `${s.version} (${s.container}${s.weight !== undefined ? `, weight ${s.weight}` : ''})`).join(', ');
  return [...conf.matchAll(/^\s+(\d[\d.]*:\d+) "([^"]*)";$/gm)].map((m) => `${m[2]} (${m[1]})`).join(', ') || undefined;
}

/** `pier status`: per host, the release serving, its health through the proxy, the proxy target, retained releases. */
export async function status(target: DeployTarget): Promise<HostStatusReport[]> {
  return withHosts(target, async (ops) =>
    Promise.all(
      ops.map(async (o): Promise<HostStatusReport> => {
        const web = target.webHosts.includes(o.name);
        try {
          const roleSpecs = target.roles.filter((r) => r.hosts.includes(o.name));
          const [cur, containers, conf, health, locks, maintenance, roles, chain, disk] = await Promise.all([
            o.readCurrent(), o.listReleases(), o.proxyConf(), web ? o.proxyHealthStatus() : Promise.resolve(''), readFleetLock([o]), maintenanceOf(o),
            Promise.all(roleSpecs.map(async (r) => {
              const [rc, retained] = await Promise.all([o.readCurrent(r.name), o.listReleases(r.name)]);
              return { role: r.name, serving: rc?.version, container: rc?.container, since: rc?.since, health: rc ? await o.roleHealth(r, rc.container) : 'not deployed', retained: retained.map((c) => ({ release: c.release, state: c.state })) };
            })),
            // Only web hosts have a proxy, so only they hold a certificate.
            target.tls && web ? o.readCertificate() : Promise.resolve(undefined),
            o.disk().catch(() => undefined),
          ]);
          const certificate = chain === undefined ? undefined : certificateStatus(o.name, chain, target.envName);
          const proxyTarget = proxyTargetOf(conf);
          return {
            host: o.name,
            web,
            ...(roles.length ? { roles } : {}),
            serving: cur?.version,
            since: cur?.since,
            by: cur?.by,
            health: !web ? 'healthy' : health === '200' ? 'healthy' : `unhealthy (${health || 'no response'})`,
            proxyTarget,
            retained: containers.map((c) => ({ release: c.release, state: c.state })),
            lock: locks[0]?.holder,
            ...(maintenance ? { maintenance } : {}),
            ...(certificate ? { certificate } : {}),
            ...(disk?.length ? { disk } : {}),
          };
        } catch (e) {
          return { host: o.name, web, health: 'unknown', retained: [], error: (e as Error).message };
        }
      }),
    ),
  );
}

/** A host's certificate for `pier status` (pure): a warning under 14 days, expired, missing or unreadable. */
export function certificateStatus(host: string, chain: string, env: string, now = new Date()): NonNullable<HostStatusReport['certificate']> {
  const h = judgeHostCert(host, chain, undefined, now);
  const warning = h.state === 'ok' ? undefined : `${h.state === 'warn' ? `expires in ${h.daysLeft} day(s)` : h.state}${h.detail ? ` (${h.detail})` : ''}: run pier certs renew ${env}`;
  return { ...(h.notAfter ? { notAfter: h.notAfter, daysLeft: h.daysLeft } : {}), state: h.state, ...(warning ? { warning } : {}) };
}

/** `pier releases`: each host's history, newest first. */
export async function releases(target: DeployTarget): Promise<{ host: string; releases: ReleaseRecord[]; roles?: Record<string, ReleaseRecord[]> }[]> {
  return withHosts(target, (ops) => Promise.all(ops.map(async (o) => {
    const roleNames = target.roles.filter((r) => r.hosts.includes(o.name)).map((r) => r.name);
    const [web, ...roles] = await Promise.all([o.readReleases(), ...roleNames.map((r) => o.readReleases(r))]);
    return { host: o.name, releases: web!.reverse(), ...(roleNames.length ? { roles: Object.fromEntries(roleNames.map((r, i) => [r, roles[i]!.reverse()])) } : {}) };
  })));
}
