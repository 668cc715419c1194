/**
 * Canary steps and the bake window in the analysis model's terms, so the rules the strategies
 * apply today (src/deploy/canary-analysis.ts `judge`, src/deploy/access-log.ts `overThreshold`) are
 * metrics with conditions over provider values like any other: `canaryValues` gives the new and
 * the old release's figures (`canary.*`, `baseline.*`), `canaryMetrics` / `bakeMetric` the
 * deploy settings as conditions. Equivalence with the strategies' own verdicts is tested
 * (test/unit/analysis/canary.test.ts); the strategies' loops are not switched over yet.
 */
import type { AccessEntry } from '../deploy/access-log.ts';
import type { CanaryThresholds } from '../deploy/canary-analysis.ts';
import { parseCondition, type Values } from './condition.ts';
import type { MetricSpec } from './metric.ts';
import { accessLogValues } from './providers/access-log.ts';

/** `canary.<v>` and `baseline.<v>` over every host's entries (rates only from `minRequests` up) (pure). */
export function canaryValues(perHost: ReadonlyMap<string, readonly AccessEntry[]>, o: { canary: string; baseline: string; minRequests: number }): Values {
  const all = [...perHost.values()].flat();
  const out: Record<string, number> = {};
  for (const [role, release, min] of [['canary', o.canary, o.minRequests], ['baseline', o.baseline, 1]] as const) {
    for (const [k, v] of Object.entries(accessLogValues(all.filter((e) => e.release === release), min))) out[`${role}.${k}`] = v;
  }
  return out;
}

const base = { provider: { kind: 'accessLog', minRequests: 0 }, intervalSeconds: 1, failureLimit: 0, consecutiveErrorLimit: 4 } as const;

/** The canary thresholds of `deploy.canary` as two metrics (error rate, p95) over `canaryValues`. */
export function canaryMetrics(t: CanaryThresholds): MetricSpec[] {
  return [
    { ...base, name: 'canary-error-rate', failureCondition: parseCondition(`canary.error_rate > ${t.maxErrorRate} && canary.error_rate > baseline.error_rate + ${t.maxErrorRateIncrease}`) },
    { ...base, name: 'canary-p95', failureCondition: parseCondition(`canary.p95_ms > baseline.p95_ms * ${t.maxP95Ratio} && canary.p95_ms - baseline.p95_ms > ${t.p95SlackMs}`) },
  ];
}

/** The bake window's rule (`deploy.maxErrorRate`, judged from `minRequests` requests) as a metric over `accessLogValues`. */
export function bakeMetric(maxErrorRate: number): MetricSpec {
  return { ...base, name: 'bake-error-rate', failureCondition: parseCondition(`error_rate > ${maxErrorRate}`) };
}
