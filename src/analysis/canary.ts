/**
 * The deploy's rules in the analysis model's terms (pure): a canary step's thresholds
 * (`deploy.canary`) and the bake window's (`deploy.maxErrorRate`) are metrics with conditions over
 * provider values like any other, judged by the same engine as the guard (src/analysis/run.ts,
 * driven by src/deploy/strategies/observe.ts). This file gives the values (`canary.*`,
 * `baseline.*`, and `<host>.canary.*` per host), the metrics, and the verdict and human reasons of
 * a canary step from the metrics' outcome.
 */
import type { AccessEntry } from '../deploy/access-log.ts';
import { canaryFigures, pct, percentile, releaseStats, type CanaryAnalysis, type CanaryThresholds, type CanaryVerdict } from '../deploy/canary-analysis.ts';
import { parseCondition, type Values } from './condition.ts';
import { judgeValues, type MetricSpec } from './metric.ts';

/** A host name as a value-name prefix (conditions read `[A-Za-z_][A-Za-z0-9_]*` parts). */
export function hostKey(host: string): string {
  const k = host.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(k) ? k : `_${k}`;
}

/**
 * One release's values: counts always; the error rate and p50/p95/p99 only from `minRequests` requests
 * (fewer leave conditions on them undecidable: inconclusive, not judged on two requests).
 */
function roleValues(entries: readonly AccessEntry[], minRequests: number, prefix: string, out: Record<string, number>): void {
  const s = releaseStats(entries);
  out[`${prefix}requests`] = s.requests;
  out[`${prefix}errors`] = s.errors;
  if (s.requests < minRequests) return;
  out[`${prefix}error_rate`] = s.errorRate;
  if (s.p95Ms !== undefined) out[`${prefix}p95_ms`] = s.p95Ms;
  // p50 and p99 too, for conditions of deploy.canary.metrics (the thresholds read p95).
  const times = entries.flatMap((e) => (e.requestTime !== undefined ? [e.requestTime * 1000] : []));
  for (const p of [50, 99]) {
    const v = percentile(times, p);
    if (v !== undefined) out[`${prefix}p${p}_ms`] = Math.round(v * 1000) / 1000;
  }
}

/**
 * `canary.<v>` / `baseline.<v>` over every host's entries and `<host>.canary.<v>` /
 * `<host>.baseline.<v>` per host (pure). The canary's rates need `minRequests`; the baseline's
 * are always given (an old release with no traffic, as at 100 %, counts as 0 % errors).
 */
export function canaryValues(perHost: ReadonlyMap<string, readonly AccessEntry[]>, o: { canary: string; baseline: string; minRequests: number }): Values {
  const out: Record<string, number> = {};
  const all = { canary: [] as AccessEntry[], baseline: [] as AccessEntry[] };
  for (const [host, entries] of perHost) {
    const c = entries.filter((e) => e.release === o.canary);
    const b = entries.filter((e) => e.release === o.baseline);
    all.canary.push(...c);
    all.baseline.push(...b);
    roleValues(c, o.minRequests, `${hostKey(host)}.canary.`, out);
    roleValues(b, 0, `${hostKey(host)}.baseline.`, out);
  }
  roleValues(all.canary, o.minRequests, 'canary.', out);
  roleValues(all.baseline, 0, 'baseline.', out);
  return out;
}

const base = { provider: { kind: 'accessLog', minRequests: 0 }, intervalSeconds: 1, failureLimit: 0, consecutiveErrorLimit: 0 } as const;
const errorRule = (p: string, t: CanaryThresholds) => `${p}canary.error_rate > ${t.maxErrorRate} && ${p}canary.error_rate > ${p}baseline.error_rate + ${t.maxErrorRateIncrease}`;
const p95Rule = (p: string, t: CanaryThresholds) => `${p}baseline.requests > 0 && ${p}canary.p95_ms > ${p}baseline.p95_ms * ${t.maxP95Ratio} && ${p}canary.p95_ms - ${p}baseline.p95_ms > ${t.p95SlackMs}`;

/**
 * The thresholds of `deploy.canary` as metrics over `canaryValues`: the error rate and p95 of the
 * new release against the old one fleet-wide (inconclusive below `minRequests`), and with more
 * than one host the same on each host that served `minRequests` (a release failing on one host
 * only is not diluted by the healthy ones; a host with fewer is not judged).
 */
export function canaryMetrics(t: CanaryThresholds, hosts: readonly string[] = []): MetricSpec[] {
  const fleet: MetricSpec[] = [
    { ...base, name: 'canary-error-rate', failureCondition: parseCondition(errorRule('', t)) },
    { ...base, name: 'canary-p95', failureCondition: parseCondition(p95Rule('', t)) },
  ];
  if (hosts.length < 2) return fleet;
  return [
    ...fleet,
    ...hosts.flatMap((h): MetricSpec[] => {
      const p = `${hostKey(h)}.`;
      const judged = `${p}canary.requests >= ${t.minRequests}`;
      return [
        { ...base, name: `canary-error-rate@${h}`, failureCondition: parseCondition(`${judged} && ${errorRule(p, t)}`) },
        { ...base, name: `canary-p95@${h}`, failureCondition: parseCondition(`${judged} && ${p95Rule(p, t)}`) },
      ];
    }),
  ];
}

/** A failed canary metric in words, with the figures it failed on. */
function failureText(name: string, v: Values, t: CanaryThresholds): string {
  const m = /^canary-(error-rate|p95)(?:@(.+))?$/.exec(name);
  if (!m) return name;
  const host = m[2];
  const p = host ? `${hostKey(host)}.` : '';
  const n = (k: string) => v[`${p}${k}`] ?? Number.NaN;
  const text = m[1] === 'error-rate'
    ? `error rate ${pct(n('canary.error_rate'))} (${n('canary.errors')}/${n('canary.requests')}) > ${pct(t.maxErrorRate)} and > old ${pct(n('baseline.error_rate'))} + ${pct(t.maxErrorRateIncrease)}`
    : `p95 ${n('canary.p95_ms')} ms > old ${n('baseline.p95_ms')} ms x ${t.maxP95Ratio} (+${t.p95SlackMs} ms slack)`;
  return host ? `${host}: ${text}` : text;
}

/** A metric's outcome, as `canaryOutcome` reads it. */
export interface MetricOutcome {
  name: string;
  values?: Values;
  /** The analysis' reason (used for metrics of deploy.canary.metrics). */
  reason?: string;
}

const builtIn = (name: string) => /^canary-(error-rate|p95)(@|$)/.test(name);

/**
 * A step's verdict from its metrics' outcome: a failed metric rolls back (fleet-wide threshold
 * reasons first, per-host ones only when the fleet-wide thresholds passed; configured metrics
 * with their own reasons), an inconclusive one leaves the step inconclusive, else it promotes.
 */
export function canaryOutcome(failed: readonly MetricOutcome[], inconclusive: readonly MetricOutcome[], t: CanaryThresholds, canaryRequests: number): { verdict: CanaryVerdict; reasons: string[] } {
  const text = (f: MetricOutcome) => (builtIn(f.name) ? failureText(f.name, f.values ?? {}, t) : (f.reason ?? f.name));
  if (failed.length) {
    const fleet = failed.filter((f) => builtIn(f.name) && !f.name.includes('@'));
    const shown = fleet.length ? [...fleet, ...failed.filter((f) => !builtIn(f.name))] : failed;
    return { verdict: 'rollback', reasons: shown.map(text) };
  }
  if (inconclusive.length) {
    return {
      verdict: 'inconclusive',
      reasons: [
        ...(inconclusive.some((i) => builtIn(i.name)) ? [`${canaryRequests} requests on the new release, ${t.minRequests} needed to judge`] : []),
        ...inconclusive.filter((i) => !builtIn(i.name)).map((i) => i.reason ?? i.name),
      ],
    };
  }
  return { verdict: 'promote', reasons: [] };
}

/** One look at a step's entries judged by the metrics (pure; what each measurement of a step decides). */
export function analyseCanary(
  perHost: ReadonlyMap<string, readonly AccessEntry[]> | Record<string, readonly AccessEntry[]>,
  o: { step: number; percent: number; canary: string; baseline: string; thresholds: CanaryThresholds },
): CanaryAnalysis {
  const map = perHost instanceof Map ? perHost : new Map(Object.entries(perHost));
  const values = canaryValues(map, { canary: o.canary, baseline: o.baseline, minRequests: o.thresholds.minRequests });
  const judged = canaryMetrics(o.thresholds, [...map.keys()]).map((m) => ({ name: m.name, phase: judgeValues(m, values).phase }));
  const figures = canaryFigures(map, o);
  const out = canaryOutcome(judged.filter((j) => j.phase === 'failed').map((j) => ({ name: j.name, values })), judged.filter((j) => j.phase === 'inconclusive'), o.thresholds, figures.canary.requests);
  return { step: o.step, percent: o.percent, ...figures, ...out };
}

/** The bake window's rule (`deploy.maxErrorRate`) as a metric over `bakeValues`. */
export function bakeMetric(maxErrorRate: number): MetricSpec {
  return { ...base, name: 'bake-error-rate', failureCondition: parseCondition(`error_rate > ${maxErrorRate}`) };
}

/** The new release's requests since the switch; its error rate only from `minRequests` (pure). */
export function bakeValues(s: { requests: number; errors: number }, minRequests: number): Values {
  return { requests: s.requests, errors: s.errors, ...(s.requests >= minRequests && s.requests > 0 ? { error_rate: s.errors / s.requests } : {}) };
}
