/** Operations besides deploy: rollback to a retained release, status, release history, lock. */
import { EnvironmentError, UsageError } from '../util/errors.ts';
import { newRunId } from '../util/run-id.ts';
import { connectAll, preflight } from './deploy.ts';
import { mapLimit } from './executor.ts';
import { HostOps, type Release } from './host-ops.ts';
import { acquireFleetLock, forceReleaseFleetLock, readFleetLock, releaseFleetLock, type LockRelease } from './lock.ts';
import { Progress } from './progress.ts';
import { auditLine, type LockInfo, type ReleaseRecord } from './records.ts';
import { switchHostTo } from './switch-back.ts';
import type { DeployTarget } from './target.ts';
import * as host from './commands/host.ts';

async function withHosts<T>(target: DeployTarget, fn: (ops: HostOps[], runId: string) => Promise<T>): Promise<T> {
  const runId = newRunId();
  const sessions = await connectAll(target);
  try {
    return await fn(sessions.map((s) => new HostOps(s, target, runId)), runId);
  } finally {
    for (const s of sessions) s.close();
  }
}

export interface RollbackOutcome {
  host: string;
  from?: string;
  to?: string;
  ok: boolean;
  detail?: string;
}

export interface RollbackReport {
  run: string;
  ok: boolean;
  seconds: number;
  /** Seconds until the last host's proxy pointed at the retained release (before drains). */
  switchedSeconds: number;
  hosts: RollbackOutcome[];
  lock: LockRelease;
}

/** The release a host goes back to: `--to VERSION`, else the newest retained container that is not serving. */
export async function rollbackTargetOf(o: HostOps, to?: string): Promise<{ from?: Release; to?: Release }> {
  const cur = await o.readCurrent();
  const from = cur ? { version: cur.version, image: cur.image, container: cur.container } : undefined;
  const all = (await o.listReleases()).sort((a, b) => b.created.localeCompare(a.created));
  const pick = all.find((c) => (to ? c.release === to : c.name !== from?.container && c.release !== from?.version));
  return { from, to: pick ? { version: pick.release, image: pick.image, container: pick.name } : undefined };
}

/** `pier rollback`: every host in parallel onto a retained release, no pulls. */
export async function rollback(target: DeployTarget, opts: { to?: string; lockWaitSeconds?: number; progress?: Progress } = {}): Promise<RollbackReport> {
  const progress = opts.progress ?? new Progress();
  const t0 = Date.now();
  return withHosts(target, async (ops, runId) => {
    await preflight(ops, target, progress, true);
    const info: LockInfo = { by: target.by, run: runId, version: opts.to ?? 'previous', at: new Date().toISOString(), pid: process.pid, command: 'rollback' };
    await acquireFleetLock(ops, info, target.envName, opts.lockWaitSeconds ?? 0);
    let hosts: RollbackOutcome[] = [];
    let switchedAt = t0;
    let lock: LockRelease = { released: [], held: [] };
    try {
      const plans = await Promise.all(ops.map(async (o) => ({ o, ...(await rollbackTargetOf(o, opts.to)) })));
      const missing = plans.filter((p) => !p.to);
      if (missing.length) {
        throw new UsageError(`no retained release ${opts.to ? `"${opts.to}" ` : 'to go back to '}on ${missing.map((p) => p.o.name).join(', ')}`, `pier releases ${target.envName} lists what each host keeps`);
      }
      const results = await mapLimit(plans, Math.max(target.parallel, plans.length), async (p) => {
        if (p.from?.container === p.to!.container) return { host: p.o.name, from: p.from.version, to: p.to!.version, ok: true, detail: 'already serving' };
        progress.step(p.o.name, 'rolling-back', `${p.from?.version ?? '?'} -> ${p.to!.version}`);
        await switchHostTo(p.o, p.to!, {
          target, runId, event: 'rollback', from: p.from,
          onSwitched: () => {
            switchedAt = Math.max(switchedAt, Date.now());
            progress.step(p.o.name, 'switched');
          },
        });
        progress.step(p.o.name, 'rolled-back');
        return { host: p.o.name, from: p.from?.version, to: p.to!.version, ok: true };
      });
      hosts = results.map((r, i) => (r.status === 'fulfilled' ? r.value : { host: plans[i]!.o.name, ok: false, detail: (r.reason as Error).message }));
      const line = auditLine(new Date(), target.by, runId, `rollback ${hosts.map((h) => `${h.host}:${h.from ?? '?'}->${h.to ?? '?'}${h.ok ? '' : '(failed)'}`).join(' ')}`);
      await Promise.all(ops.map((o) => o.audit(line).catch(() => undefined)));
    } finally {
      lock = await releaseFleetLock(ops, runId);
    }
    return { run: runId, ok: hosts.every((h) => h.ok), seconds: (Date.now() - t0) / 1000, switchedSeconds: (switchedAt - t0) / 1000, hosts, lock };
  });
}

export interface HostStatusReport {
  host: string;
  serving?: string;
  since?: string;
  by?: string;
  health: string;
  proxyTarget?: string;
  retained: { release: string; state: string }[];
  lock?: LockInfo;
  error?: string;
}

/** `pier status`: per host, the release serving, its health through the proxy, the proxy target, retained releases. */
export async function status(target: DeployTarget): Promise<HostStatusReport[]> {
  return withHosts(target, async (ops) =>
    Promise.all(
      ops.map(async (o): Promise<HostStatusReport> => {
        try {
          const [cur, containers, conf, health, locks] = await Promise.all([
            o.readCurrent(),
            o.listReleases(),
            o.proxyConf(),
            o.h.probe(host.httpStatus(`http://127.0.0.1:${target.settings.proxyPort}${target.healthPath}`, 3)),
            readFleetLock([o]),
          ]);
          const proxyTarget = [...conf.matchAll(/^\s+(\d[\d.]*:\d+) "([^"]*)";$/gm)].map((m) => `${m[2]} (${m[1]})`).join(', ') || undefined;
          return {
            host: o.name,
            serving: cur?.version,
            since: cur?.since,
            by: cur?.by,
            health: health.stdout.trim() === '200' ? 'healthy' : `unhealthy (${health.stdout.trim() || 'no response'})`,
            proxyTarget,
            retained: containers.map((c) => ({ release: c.release, state: c.state })),
            lock: locks[0]?.holder,
          };
        } catch (e) {
          return { host: o.name, health: 'unknown', retained: [], error: (e as Error).message };
        }
      }),
    ),
  );
}

/** `pier releases`: each host's history, newest first. */
export async function releases(target: DeployTarget): Promise<{ host: string; releases: ReleaseRecord[] }[]> {
  return withHosts(target, (ops) => Promise.all(ops.map(async (o) => ({ host: o.name, releases: (await o.readReleases()).reverse() }))));
}

/** `pier lock status`. */
export async function lockStatus(target: DeployTarget): Promise<{ host: string; holder?: LockInfo }[]> {
  return withHosts(target, (ops) => readFleetLock(ops));
}

/** `pier lock release`: remove the lock on every host whoever holds it (recorded in the audit log). */
export async function lockRelease(target: DeployTarget): Promise<{ host: string; holder?: LockInfo }[]> {
  return withHosts(target, async (ops, runId) => {
    const before = await readFleetLock(ops);
    await forceReleaseFleetLock(ops);
    const line = auditLine(new Date(), target.by, runId, `lock released by hand (was: ${before.map((b) => `${b.host}:${b.holder?.by ?? 'free'}`).join(' ')})`);
    await Promise.all(ops.map((o) => o.audit(line).catch(() => undefined)));
    return before;
  });
}

export { EnvironmentError };
