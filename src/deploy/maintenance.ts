/**
 * `pier maintenance on|off <env>`: every host's proxy answers 503 with a page and Retry-After
 * (except the health path and the ACME challenge), or serves again. The switch is a snippet the
 * proxy config always includes (commands/maintenance.ts), so deploys, rollbacks and reconciles,
 * which rewrite pier.conf, leave it as it is: a deploy during maintenance keeps it on.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError, EnvironmentError } from '../util/errors.ts';
import { defaultMaintenancePage, parseMaintenanceConf, renderMaintenanceConf, type MaintenanceRecord } from './commands/maintenance.ts';
import { PROXY_CONTAINER } from './commands/layout.ts';
import { mapLimit } from './executor.ts';
import { withHosts } from './fleet.ts';
import { webTarget } from './target.ts';
import { deployClock, type HostOps } from './host-ops.ts';
import { notYet, poll, PollError } from '../util/poll.ts';
import { auditLine } from './records.ts';
import type { DeployTarget } from './target.ts';

/** A path no app serves specially, requested through each proxy to see maintenance is in force. */
export const MAINTENANCE_PROBE_PATH = '/pier-maintenance-probe';

export interface MaintenanceOptions {
  /** Page file (relative to the repository root); default: the environment's maintenance.page. */
  page?: string;
  retryAfterSeconds?: number;
}

export interface MaintenanceHost {
  host: string;
  on: boolean;
  ok: boolean;
  detail?: string;
}

export interface MaintenanceReport {
  env: string;
  on: boolean;
  ok: boolean;
  hosts: MaintenanceHost[];
}

/** The page to serve and where it came from; a missing page file is a config error naming the key. */
export function maintenancePage(target: DeployTarget, opts: MaintenanceOptions): { html: string; source: string; retryAfterSeconds: number } {
  const cfg = target.config?.env?.maintenance;
  const retryAfterSeconds = opts.retryAfterSeconds ?? cfg?.retryAfterSeconds ?? 300;
  const rel = opts.page ?? cfg?.page;
  if (!rel) return { html: defaultMaintenancePage(target.app, retryAfterSeconds), source: 'default', retryAfterSeconds };
  const file = isAbsolute(rel) ? rel : join(target.root, rel);
  if (!existsSync(file)) {
    throw new ConfigError([{ file: opts.page ? 'command line' : `environments/${target.envName}.yaml`, path: opts.page ? '--page' : 'maintenance.page', message: `no such file: ${rel}` }]);
  }
  return { html: readFileSync(file, 'utf8'), source: rel, retryAfterSeconds };
}

/** Turn maintenance on or off on every host; each host is checked through its proxy afterwards. */
export async function setMaintenance(target: DeployTarget, on: boolean, opts: MaintenanceOptions = {}): Promise<MaintenanceReport> {
  const page = on ? maintenancePage(target, opts) : undefined;
  // Only hosts running web have a proxy to answer with the page (a worker-only host has none).
  return withHosts(webTarget(target), async (ops, runId) => {
    const results = await mapLimit(ops, Math.max(target.parallel, ops.length), (o) => switchHost(o, target, on, page, runId));
    const hosts = results.map((r, i): MaintenanceHost => (r.status === 'fulfilled' ? r.value : { host: ops[i]!.name, on: !on, ok: false, detail: (r.reason as Error).message }));
    return { env: target.envName, on, ok: hosts.every((h) => h.ok), hosts };
  });
}

async function switchHost(o: HostOps, target: DeployTarget, on: boolean, page: ReturnType<typeof maintenancePage> | undefined, runId: string): Promise<MaintenanceHost> {
  if (!(await o.exists(PROXY_CONTAINER))) throw new EnvironmentError(`${o.name}: no proxy runs on this host (nothing deployed yet): deploy first`);
  // Off where it is not on: nothing to reload or check (deploy --live on a fleet in service).
  if (!on && !parseMaintenanceConf(await o.maintenanceConf())) return { host: o.name, on, ok: true, detail: 'already off' };
  if (on) {
    const rec: MaintenanceRecord = { since: new Date().toISOString(), by: target.by, retryAfterSeconds: page!.retryAfterSeconds, page: page!.source };
    await o.maintenanceOn(renderMaintenanceConf(target.healthPath, rec), page!.html);
  } else await o.maintenanceOff();
  // In force? nginx's reload is asynchronous (new workers start, old ones finish what they have), so
  // the proxy is asked until it answers as switched (bounded); a proxy config from before
  // maintenance mode has no include and never does: said so, and left off.
  const want = (status: string) => (on ? status === '503' : status !== '503' && status !== '');
  let probe = '';
  const settled = await poll(`${o.name}: maintenance ${on ? 'on' : 'off'}`, async () => {
    probe = await o.proxyStatus(MAINTENANCE_PROBE_PATH);
    return want(probe) ? true : notYet(probe || 'no response');
  }, { timeoutMs: 10_000, intervalMs: 100, maxAttempts: 50, retry: () => false, clock: deployClock }).catch((e: unknown) => {
    if (e instanceof PollError) return false;
    throw e;
  });
  if (!settled && on) {
    await o.maintenanceOff().catch(() => undefined);
    throw new EnvironmentError(`${o.name}: maintenance not in force (GET ${MAINTENANCE_PROBE_PATH} through the proxy -> ${probe || 'no response'}); the proxy config predates maintenance mode`, 'deploy once with this pier version, then turn maintenance on again');
  }
  if (!settled) throw new EnvironmentError(`${o.name}: the proxy still answers ${probe || 'nothing'} after maintenance was removed`, `check the proxy on ${o.name} (docker logs pier-proxy)`);
  const line = auditLine(new Date(), target.by, runId, `maintenance ${on ? 'on' : 'off'}`);
  await o.auditLines([line]);
  return { host: o.name, on, ok: true, ...(on ? { detail: `page ${page!.source}, Retry-After ${page!.retryAfterSeconds}s` } : {}) };
}

/** Maintenance state of a host for `pier status` (undefined: off). */
export async function maintenanceOf(o: HostOps): Promise<MaintenanceRecord | undefined> {
  return parseMaintenanceConf(await o.maintenanceConf());
}
