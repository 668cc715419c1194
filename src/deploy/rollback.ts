/**
 * `pier rollback`: every host in parallel onto a retained release, no pulls. Which release comes
 * from each host's recorded history (history.ts): the one that served before the current one;
 * when hosts disagree, the newest release that served on all of them, or the operator's --to.
 */
import { UsageError } from '../util/errors.ts';
import { withHosts } from './fleet.ts';
import { mapLimit } from './executor.ts';
import { decideRollback, describeStates, type HostHistory, type HostRollbackState } from './history.ts';
import { acquireFleetLock, releaseFleetLock, type LockRelease } from './lock.ts';
import { Progress } from './progress.ts';
import { auditLine, type LockInfo } from './records.ts';
import { reconcileRecords } from './reconcile.ts';
import { switchHostTo } from './switch-back.ts';
import type { DeployTarget } from './target.ts';
import { switchRoleTo } from './roles.ts';

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
  /** previous: each host's previous release (they agreed); converge: hosts disagreed; to: --to. */
  mode: 'previous' | 'converge' | 'to';
  /** The release the fleet went to. */
  version: string;
  /** Each host's state before the rollback (what it served, what served before). */
  states: string[];
  hosts: RollbackOutcome[];
  /** Roles other than web, each host of each: what it ran and what it runs now. */
  roles?: (RollbackOutcome & { role: string })[];
  lock: LockRelease;
}

export interface RollbackOptions {
  to?: string;
  lockWaitSeconds?: number;
  progress?: Progress;
  /** Under the lock, the target release decided, before any host switches; throwing aborts (preRollback hook). */
  beforeSwitch?: (ctx: { run: string; version: string; from: (string | undefined)[] }) => Promise<unknown>;
  /** With the outcome while the lock is still held (postRollback hook); must not throw. */
  beforeUnlock?: (report: RollbackReport) => Promise<unknown>;
  /**
   * A smoke or guard rollback: the failure it answers, recorded before its line in the audit log
   * (`failure detected in VERSION: reason`, stamped `at`): where pier stats' time to restore starts.
   */
  detected?: { at: number; version: string; reason: string };
}

export async function rollback(target: DeployTarget, opts: RollbackOptions = {}): Promise<RollbackReport> {
  const progress = opts.progress ?? new Progress();
  const t0 = Date.now();
  return withHosts(target, async (ops, runId) => {
    const info: LockInfo = { by: target.by, run: runId, version: opts.to ?? 'previous', at: new Date().toISOString(), pid: process.pid, command: 'rollback' };
    let result: RollbackReport | undefined;
    let locked = false;
    try {
      // Inside the try: whatever fails from here on, the lock is released. No separate Docker
      // check: the container listing below is Docker answering on every host (a host whose
      // Docker does not fails the rollback there, before any host switches).
      await acquireFleetLock(ops, info, target.envName, opts.lockWaitSeconds ?? 0);
      locked = true;
      const webOps = ops.filter((o) => target.webHosts.includes(o.name));
      const histories: HostHistory[] = await Promise.all(
        webOps.map(async (o) => {
          // The records first catch up with what the proxy serves: the decision trusts them.
          // reconcile returns the records as they stand after it, so they are not read twice.
          const [r, retained] = await Promise.all([reconcileRecords(o, target.by, runId, { strictHistory: true }), o.listReleases()]);
          progress.step(o.name, 'preflight');
          if (r.repaired) progress.step(o.name, 'reconciled', r.repaired);
          return { host: o.name, current: r.current, records: r.records, retained };
        }),
      );
      // The other roles' histories, per role: they follow web's target release (the same version
      // everywhere); without web, the first role decides.
      const roleHistories = await Promise.all(target.roles.map(async (role) => ({
        role,
        hosts: await Promise.all(role.hosts.map(async (h) => {
          const o = ops.find((x) => x.name === h)!;
          const [current, records, retained] = await Promise.all([o.readCurrent(role.name), o.readHistory(role.name), o.listReleases(role.name)]);
          return { o, history: { host: `${h}`, current, records, retained } as HostHistory };
        })),
      })));
      const lead = histories.length ? histories : roleHistories[0]?.hosts.map((h) => h.history) ?? [];
      const d = decideRollback(lead, opts.to);
      const roleDecisions = d.ok ? roleHistories.map((r) => ({ ...r, d: decideRollback(r.hosts.map((h) => h.history), d.version) })) : [];
      const roleRefused = roleDecisions.filter((r) => !r.d.ok).map((r) => `${r.role.name}: ${(r.d as { reason: string }).reason}`);
      const states = [...describeStates(d.states), ...roleDecisions.flatMap((r) => describeStates(r.d.states).map((s) => `${r.role.name} on ${s}`))];
      if (roleRefused.length) {
        throw new UsageError(`cannot roll every role back to ${d.ok ? d.version : '?'}: ${roleRefused.join('; ')}:\n${states.map((s) => `  ${s}`).join('\n')}`, `pier releases ${target.envName} lists what served on each host and role`);
      }
      if (!d.ok) {
        throw new UsageError(
          `cannot roll back: ${d.reason}:\n${states.map((s) => `  ${s}`).join('\n')}`,
          opts.to ? `pier releases ${target.envName} lists what served on each host` : `choose the release: pier rollback ${target.envName} --to VERSION (pier releases ${target.envName} lists what served on each host)`,
        );
      }
      if (d.mode === 'converge') {
        for (const s of states) progress.step('fleet', 'rollback-plan', s);
        progress.step('fleet', 'rollback-plan', `hosts disagree: converging on ${d.version}, the newest release that served on all of them`);
      }
      const byHost = new Map(d.states.map((s): [string, HostRollbackState] => [s.host, s]));
      // Whether each target still runs (kept through the rollback window), from the listing above.
      const runningOn = (host: string, container: string) => histories.find((h) => h.host === host)?.retained.some((c) => c.name === container && c.state === 'running') ?? false;
      const plans = (histories.length ? d.hosts : []).map((h) => ({ o: ops.find((o) => o.name === h.host)!, from: byHost.get(h.host)?.current, to: h.to, running: runningOn(h.host, h.to.container) }));
      await opts.beforeSwitch?.({ run: runId, version: d.version, from: plans.map((p) => p.from?.version) });
      let switchedAt = t0;
      const results = await mapLimit(plans, Math.max(target.parallel, plans.length), async (p) => {
        if (p.from?.container === p.to.container) return { host: p.o.name, from: p.from.version, to: p.to.version, ok: true, detail: 'already serving' };
        progress.step(p.o.name, 'rolling-back', `${p.from?.version ?? '?'} -> ${p.to.version}`);
        await switchHostTo(p.o, p.to, {
          // The command returns once every host serves `to`; the old release drains and stops host-side.
          target, runId, event: 'rollback', from: p.from, retire: 'schedule', running: p.running,
          onSwitched: () => {
            switchedAt = Math.max(switchedAt, Date.now());
            progress.step(p.o.name, 'switched');
          },
        });
        progress.step(p.o.name, 'rolled-back');
        return { host: p.o.name, from: p.from?.version, to: p.to.version, ok: true };
      });
      const hosts: RollbackOutcome[] = results.map((r, i) => (r.status === 'fulfilled' ? r.value : { host: plans[i]!.o.name, from: plans[i]!.from?.version, to: plans[i]!.to.version, ok: false, detail: (r.reason as Error).message }));
      // Then the other roles, in roleOrder, each on all its hosts at once.
      const roles: (RollbackOutcome & { role: string })[] = [];
      for (const r of roleDecisions) {
        if (!r.d.ok) continue;
        const moves = r.d.hosts.map((h) => ({ o: r.hosts.find((x) => x.history.host === h.host)!.o, from: h.from, to: h.to }));
        const done = await mapLimit(moves, Math.max(target.parallel, moves.length), async (m) => {
          if (m.from?.container === m.to.container) return { role: r.role.name, host: m.o.name, from: m.from.version, to: m.to.version, ok: true, detail: 'already running' };
          progress.step(m.o.name, 'rolling-back', `${r.role.name} ${m.from?.version ?? '?'} -> ${m.to.version}`);
          await switchRoleTo(m.o, r.role, m.to, { target, runId, event: 'rollback', from: m.from });
          progress.step(m.o.name, 'rolled-back', r.role.name);
          return { role: r.role.name, host: m.o.name, from: m.from?.version, to: m.to.version, ok: true };
        });
        roles.push(...done.map((x, i) => (x.status === 'fulfilled' ? x.value : { role: r.role.name, host: moves[i]!.o.name, from: moves[i]!.from?.version, to: moves[i]!.to.version, ok: false, detail: (x.reason as Error).message })));
      }
      // The duration ends the line: pier stats reads rollback durations from the audit log.
      const line = auditLine(new Date(), target.by, runId, `rollback ${[...hosts, ...roles.map((r) => ({ ...r, host: `${r.host}/${r.role}` }))].map((h) => `${h.host}:${h.from ?? '?'}->${h.to ?? '?'}${h.ok ? '' : '(failed)'}`).join(' ')} in ${((Date.now() - t0) / 1000).toFixed(2)}s`);
      const lines = [...(opts.detected ? [auditLine(new Date(opts.detected.at), target.by, runId, `failure detected in ${opts.detected.version}: ${opts.detected.reason}`)] : []), line];
      await Promise.all(ops.map((o) => o.auditLines(lines)));
      result = { run: runId, ok: hosts.every((h) => h.ok) && roles.every((r) => r.ok), seconds: (Date.now() - t0) / 1000, switchedSeconds: (switchedAt - t0) / 1000, mode: d.mode, version: d.version, states, hosts, ...(roles.length ? { roles } : {}), lock: { released: [], held: [] } };
      await opts.beforeUnlock?.(result).catch(() => undefined);
    } finally {
      const lock: LockRelease = locked ? await releaseFleetLock(ops, runId) : { released: [], held: [] };
      if (result) result.lock = lock;
    }
    return result;
  });
}
