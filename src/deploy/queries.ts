/** Read-only verbs: `pier status` and `pier releases`. They take no lock and change nothing. */
import { parseProxyServes } from './commands/nginx.ts';
import { withHosts } from './fleet.ts';
import { readFleetLock } from './lock.ts';
import type { LockInfo, ReleaseRecord } from './records.ts';
import type { DeployTarget } from './target.ts';
import type { MaintenanceRecord } from './commands/maintenance.ts';
import { maintenanceOf } from './maintenance.ts';
import { judgeHostCert } from '../certs/certs.ts';

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
        try {
          const [cur, containers, conf, health, locks, maintenance, chain] = await Promise.all([o.readCurrent(), o.listReleases(), o.proxyConf(), o.proxyHealthStatus(), readFleetLock([o]), maintenanceOf(o), target.tls ? o.readCertificate() : Promise.resolve(undefined)]);
          const certificate = chain === undefined ? undefined : certificateStatus(o.name, chain, target.envName);
          const proxyTarget = proxyTargetOf(conf);
          return {
            host: o.name,
            serving: cur?.version,
            since: cur?.since,
            by: cur?.by,
            health: health === '200' ? 'healthy' : `unhealthy (${health || 'no response'})`,
            proxyTarget,
            retained: containers.map((c) => ({ release: c.release, state: c.state })),
            lock: locks[0]?.holder,
            ...(maintenance ? { maintenance } : {}),
            ...(certificate ? { certificate } : {}),
          };
        } catch (e) {
          return { host: o.name, health: 'unknown', retained: [], error: (e as Error).message };
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
export async function releases(target: DeployTarget): Promise<{ host: string; releases: ReleaseRecord[] }[]> {
  return withHosts(target, (ops) => Promise.all(ops.map(async (o) => ({ host: o.name, releases: (await o.readReleases()).reverse() }))));
}
