/**
 * DORA figures from pier's own records (pure): the release history (releases.jsonl) and audit log
 * of every host of an environment, and the commit times of the deployed shas.
 *
 * - deployments: deploy runs that succeeded; frequency per day over the window.
 * - lead time for changes: commit time of the deployed sha (from the version tag) -> deploy success.
 * - change failure rate: of the deploys that reached production (a host switched to them), those
 *   rolled back during the deploy (`rolled-back` records) or by a later rollback away from them
 *   (`rollback` records whose `from` is that version, before any other deploy on that host).
 * - time to restore: from the failure's detection to the last host back. Detection is the audit
 *   line `deploy X failure detected: ...` of a deploy that rolled itself back (its first unhealthy
 *   or failed host, or the failed analysis), or `failure detected in X: ...` of a smoke or guard
 *   rollback; without one (older records, a rollback by hand) the change reaching production: its
 *   first switch, or its success for one rolled back later.
 * - deploy and rollback durations: from the audit lines (`deploy X started` / `succeeded|failed`;
 *   `rollback ... in Ns`, `rollback (automatic, ...) ... in Ns` for a deploy that switched back).
 */
import type { ReleaseRecord } from '../deploy/records.ts';

export interface AuditEntry {
  at: number;
  by: string;
  run: string;
  message: string;
}

/** `2026-12-01T10:00:00.000Z ci@runner run=abc deploy 1.0.0 started (...)` -> entry; other lines undefined. */
export function parseAuditLine(line: string): AuditEntry | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\S+)\s+(\S+)\s+run=(\S+)\s+(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const at = Date.parse(m[1]!);
  return Number.isFinite(at) ? { at, by: m[2]!, run: m[3]!, message: m[4]! } : undefined;
}

/** The commit sha a pier version tag carries (`1.2.0-abc1234`, `-dirty...` allowed). */
export function shaOfVersion(version: string): string | undefined {
  return /-([0-9a-f]{7,40})(?:-dirty(?:-[0-9a-f]+)?)?$/.exec(version)?.[1];
}

export interface HostRecords {
  host: string;
  releases: readonly ReleaseRecord[];
  audit: readonly string[];
}

export interface Percentiles {
  count: number;
  p50?: number;
  p90?: number;
  max?: number;
}

export interface DoraStats {
  env: string;
  since: string;
  until: string;
  days: number;
  deploys: { attempted: number; succeeded: number; failed: number; successRate?: number; perDay: number };
  leadTimeSeconds: Percentiles & { unknownCommit: number };
  changeFailure: { changes: number; failed: number; rate?: number; versions: string[] };
  timeToRestoreSeconds: Percentiles;
  deploySeconds: Percentiles;
  rollbacks: { count: number; automatic: number; byCommand: number; perDeploy?: number };
  rollbackSeconds: Percentiles;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** Nearest-rank percentiles of seconds (sorted here: inputs come in record order). */
export function percentiles(values: readonly number[]): Percentiles {
  const v = [...values].sort((a, b) => a - b);
  if (!v.length) return { count: 0 };
  const at = (p: number) => v[Math.min(v.length, Math.max(1, Math.ceil(p * v.length))) - 1]!;
  return { count: v.length, p50: round(at(0.5)), p90: round(at(0.9)), max: round(v.at(-1)!) };
}

interface DeployRun {
  run: string;
  version?: string;
  started?: number;
  ended?: number;
  ok?: boolean;
  /** `deploy X failure detected`: when the deploy found the failure it rolled back from. */
  detected?: number;
}

export function computeDora(env: string, hosts: readonly HostRecords[], commitTimes: ReadonlyMap<string, number>, window: { since: number; until: number }): DoraStats {
  const inWindow = (t: number | undefined) => t !== undefined && t >= window.since && t <= window.until;
  // Audit lines are written to every host: one run is one deploy, its times the earliest seen.
  const runs = new Map<string, DeployRun>();
  const rollbackSeconds: number[] = [];
  /** Runs whose deploy switched hosts back itself and said so (`rollback (automatic, ...)`). */
  const automaticRuns = new Set<string>();
  const seenRollbackRuns = new Set<string>();
  /** `failure detected in X` (smoke, guard): version -> times. */
  const detections: { version: string; at: number }[] = [];
  for (const h of hosts) {
    for (const line of h.audit) {
      const e = parseAuditLine(line);
      if (!e) continue;
      let m = /^deploy (\S+) failure detected\b/.exec(e.message);
      if (m) {
        const r = runs.get(e.run) ?? { run: e.run };
        r.detected = Math.min(r.detected ?? Infinity, e.at);
        runs.set(e.run, r);
        continue;
      }
      m = /^failure detected in (\S+?):? /.exec(e.message);
      if (m) {
        detections.push({ version: m[1]!, at: e.at });
        continue;
      }
      m = /^deploy (\S+) (started|succeeded|failed)\b/.exec(e.message);
      if (m) {
        const r = runs.get(e.run) ?? { run: e.run };
        if (m[2] === 'started') r.started = Math.min(r.started ?? Infinity, e.at);
        else {
          r.ended = Math.min(r.ended ?? Infinity, e.at);
          r.ok = m[2] === 'succeeded';
          if (m[1] !== '--env-only') r.version = m[1];
        }
        runs.set(e.run, r);
        continue;
      }
      m = /^rollback (\(automatic\b[^)]*\) )?.* in ([\d.]+)s$/.exec(e.message);
      if (m && inWindow(e.at) && !seenRollbackRuns.has(e.run)) {
        seenRollbackRuns.add(e.run);
        rollbackSeconds.push(Number(m[2]));
        if (m[1]) automaticRuns.add(e.run);
      }
    }
  }
  const deploys = [...runs.values()].filter((r) => inWindow(r.started ?? r.ended));
  const succeeded = deploys.filter((r) => r.ok === true);
  const failed = deploys.filter((r) => r.ok === false);

  // Lead time: commit -> success.
  const lead: number[] = [];
  let unknownCommit = 0;
  for (const r of succeeded) {
    const sha = r.version ? shaOfVersion(r.version) : undefined;
    const committed = sha ? commitTimes.get(sha) : undefined;
    if (committed === undefined || r.ended === undefined) unknownCommit++;
    else lead.push(Math.max(0, (r.ended - committed) / 1000));
  }

  // Changes that reached production, and which of them failed there.
  const records = hosts.flatMap((h) => h.releases.map((rec, i) => ({ host: h.host, rec, i, list: h.releases })));
  const t = (rec: ReleaseRecord) => Date.parse(rec.since);
  const changes = new Map<string, { version: string; firstSwitch: number; success?: number; detected?: number; restored?: number; failed: boolean; auto: boolean }>();
  for (const { rec } of records) {
    if (rec.event !== 'deployed' || !runs.has(rec.run) || !inWindow(t(rec))) continue;
    const c = changes.get(rec.run) ?? { version: rec.version, firstSwitch: t(rec), failed: false, auto: false };
    c.firstSwitch = Math.min(c.firstSwitch, t(rec));
    changes.set(rec.run, c);
  }
  for (const [run, c] of changes) {
    const r = runs.get(run)!;
    if (r.ok) c.success = r.ended;
    const back = records.filter(({ rec }) => rec.event === 'rolled-back' && rec.run === run);
    if (back.length) {
      c.failed = c.auto = true;
      c.restored = Math.max(...back.map(({ rec }) => t(rec)));
      c.detected = r.detected ?? c.firstSwitch;
      continue;
    }
    // A later rollback away from this release, before any other release went onto that host.
    const restoredAt: number[] = [];
    for (const { rec, i, list } of records) {
      if (rec.run !== run || rec.event !== 'deployed') continue;
      const next = list.slice(i + 1).find((x) => x.event !== 'reconciled');
      if (next?.event === 'rollback' && next.from === c.version) restoredAt.push(t(next));
    }
    if (restoredAt.length) {
      c.failed = true;
      c.restored = Math.max(...restoredAt);
      // A smoke or guard failure found in production before the hosts went back, if recorded.
      const from = c.success ?? c.firstSwitch;
      const found = detections.filter((d) => d.version === c.version && d.at >= from && d.at <= c.restored!).map((d) => d.at);
      c.detected = found.length ? Math.min(...found) : from;
    }
  }
  const failedChanges = [...changes.values()].filter((c) => c.failed);
  const ttr = failedChanges.filter((c) => c.restored !== undefined).map((c) => Math.max(0, (c.restored! - c.detected!) / 1000));
  // Automatic rollbacks: the deploys' own lines (a canary's weighted switch is no change in the
  // records but is rolled back all the same), and rolled-back changes of older deploys without one.
  const automatic = automaticRuns.size + [...changes].filter(([run, c]) => c.auto && !automaticRuns.has(run)).length;

  const days = Math.max(1 / 24, (window.until - window.since) / 86_400_000);
  // Commanded rollbacks (smoke and guard ones included): the other rollback lines.
  const byCommand = rollbackSeconds.length - automaticRuns.size;
  const rollbacksCount = automatic + byCommand;
  return {
    env,
    since: new Date(window.since).toISOString(),
    until: new Date(window.until).toISOString(),
    days: round(days, 2),
    deploys: {
      attempted: deploys.length,
      succeeded: succeeded.length,
      failed: failed.length,
      ...(succeeded.length + failed.length ? { successRate: round(succeeded.length / (succeeded.length + failed.length), 3) } : {}),
      perDay: round(succeeded.length / days, 2),
    },
    leadTimeSeconds: { ...percentiles(lead), unknownCommit },
    changeFailure: { changes: changes.size, failed: failedChanges.length, ...(changes.size ? { rate: round(failedChanges.length / changes.size, 3) } : {}), versions: failedChanges.map((c) => c.version) },
    timeToRestoreSeconds: percentiles(ttr),
    deploySeconds: percentiles(deploys.filter((r) => r.started !== undefined && r.ended !== undefined).map((r) => (r.ended! - r.started!) / 1000)),
    rollbacks: { count: rollbacksCount, automatic, byCommand, ...(deploys.length ? { perDeploy: round(rollbacksCount / deploys.length, 3) } : {}) },
    rollbackSeconds: percentiles(rollbackSeconds),
  };
}

const fmt = (s: number | undefined) => (s === undefined ? '-' : s >= 86_400 ? `${round(s / 86_400)}d` : s >= 3600 ? `${round(s / 3600)}h` : s >= 60 ? `${round(s / 60)}m` : `${round(s)}s`);
const pct = (p: Percentiles) => (p.count ? `p50 ${fmt(p.p50)}, p90 ${fmt(p.p90)}, max ${fmt(p.max)} (${p.count})` : 'none');

/** The summary people read. */
export function renderDora(s: DoraStats): string {
  return [
    `${s.env}: ${s.since.slice(0, 10)} .. ${s.until.slice(0, 10)} (${s.days} days)`,
    `  deployment frequency  ${s.deploys.perDay}/day (${s.deploys.succeeded} succeeded of ${s.deploys.attempted}${s.deploys.successRate !== undefined ? `, success rate ${round(s.deploys.successRate * 100)} %` : ''})`,
    `  lead time for changes ${pct(s.leadTimeSeconds)}${s.leadTimeSeconds.unknownCommit ? `; ${s.leadTimeSeconds.unknownCommit} without a known commit` : ''}`,
    `  change failure rate   ${s.changeFailure.rate !== undefined ? `${round(s.changeFailure.rate * 100)} %` : '-'} (${s.changeFailure.failed} of ${s.changeFailure.changes} changes${s.changeFailure.versions.length ? `: ${s.changeFailure.versions.join(', ')}` : ''})`,
    `  time to restore       ${pct(s.timeToRestoreSeconds)}`,
    `  deploy duration       ${pct(s.deploySeconds)}`,
    `  rollbacks             ${s.rollbacks.count} (${s.rollbacks.automatic} automatic, ${s.rollbacks.byCommand} by command); duration ${pct(s.rollbackSeconds)}`,
  ].join('\n');
}

/** Prometheus text exposition (for node-exporter's textfile collector). */
export function renderPrometheus(s: DoraStats, app: string): string {
  const l = `app="${app}",env="${s.env}"`;
  const out: string[] = [];
  const metric = (name: string, help: string, type: 'gauge', samples: [string, number | undefined][]) => {
    const present = samples.filter((x): x is [string, number] => x[1] !== undefined);
    if (!present.length) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...present.map(([extra, v]) => `${name}{${l}${extra}} ${v}`));
  };
  const q = (p: Percentiles): [string, number | undefined][] => [[',quantile="0.5"', p.p50], [',quantile="0.9"', p.p90], [',quantile="1"', p.max]];
  metric('pier_deploys_total', `Deploy runs in the window (${s.days} days) by result`, 'gauge', [[',result="succeeded"', s.deploys.succeeded], [',result="failed"', s.deploys.failed]]);
  metric('pier_deployment_frequency_per_day', 'Successful deploys per day over the window', 'gauge', [['', s.deploys.perDay]]);
  metric('pier_lead_time_seconds', 'Commit to successful deploy', 'gauge', q(s.leadTimeSeconds));
  metric('pier_change_failure_rate', 'Share of changes that reached production and were rolled back', 'gauge', [['', s.changeFailure.rate]]);
  metric('pier_time_to_restore_seconds', 'Failed change in production to every host restored', 'gauge', q(s.timeToRestoreSeconds));
  metric('pier_deploy_duration_seconds', 'Deploy run duration', 'gauge', q(s.deploySeconds));
  metric('pier_rollbacks_total', 'Rollbacks in the window', 'gauge', [[',kind="automatic"', s.rollbacks.automatic], [',kind="command"', s.rollbacks.byCommand]]);
  return `${out.join('\n')}\n`;
}
