import { describe, expect, it } from 'vitest';
import { bakeMetric, canaryMetrics, canaryValues } from '../../../src/analysis/canary.ts';
import { judgeValues } from '../../../src/analysis/metric.ts';
import { accessLogValues } from '../../../src/analysis/providers/access-log.ts';
import { errorStats, overThreshold, type AccessEntry } from '../../../src/deploy/access-log.ts';
import { analyseCanary, type CanaryThresholds } from '../../../src/deploy/canary-analysis.ts';

/** A small seeded PRNG (mulberry32): the same cases every run. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T: CanaryThresholds = { minRequests: 20, maxErrorRate: 0.05, maxErrorRateIncrease: 0.02, maxP95Ratio: 1.5, p95SlackMs: 50 };

describe("the strategies' rules as analysis metrics", () => {
  it('canary: the metrics fail exactly when the fleet-wide canary verdict rolls back (2000 random steps)', () => {
    const r = rng(42);
    let rollbacks = 0;
    for (let i = 0; i < 2000; i++) {
      const entries: AccessEntry[] = [];
      const n = { v2: Math.floor(r() * 60), v1: 1 + Math.floor(r() * 200) };
      const errRate = { v2: r() < 0.5 ? r() * 0.2 : 0, v1: r() * 0.06 };
      const slow = { v2: 5 + r() * (r() < 0.3 ? 400 : 40), v1: 5 + r() * 40 };
      for (const rel of ['v1', 'v2'] as const) for (let k = 0; k < n[rel]; k++) entries.push({ msec: 0, status: r() < errRate[rel] ? 500 : 200, upstream: 'u', release: rel, requestTime: (slow[rel] * (0.5 + r())) / 1000 });
      // One host: the fleet-wide verdict and the per-host one coincide.
      const verdict = analyseCanary(new Map([['web1', entries]]), { step: 1, percent: 25, canary: 'v2', baseline: 'v1', thresholds: T }).verdict;
      const values = canaryValues(new Map([['web1', entries]]), { canary: 'v2', baseline: 'v1', minRequests: T.minRequests });
      const failed = canaryMetrics(T).some((m) => judgeValues(m, values).phase === 'failed');
      expect(failed, JSON.stringify(values)).toBe(verdict === 'rollback');
      if (verdict === 'rollback') rollbacks++;
      // Too few canary requests: the metrics are inconclusive, as the verdict is.
      if (n.v2 < T.minRequests) expect(canaryMetrics(T).every((m) => judgeValues(m, values).phase === 'inconclusive')).toBe(true);
    }
    expect(rollbacks).toBeGreaterThan(100); // the sample exercises both outcomes
  });

  it('bake: the metric fails exactly when overThreshold does (minRequests as the provider minimum)', () => {
    const r = rng(7);
    for (let i = 0; i < 1000; i++) {
      const n = Math.floor(r() * 40);
      const rate = r() * 0.15;
      const entries: AccessEntry[] = Array.from({ length: n }, () => ({ msec: 0, status: r() < rate ? 502 : 200, upstream: 'u', release: 'v2' }));
      const min = r() < 0.5 ? 5 : 20;
      const expected = overThreshold(errorStats(entries, 'v2'), 0.05, min);
      expect(judgeValues(bakeMetric(0.05), accessLogValues(entries, min)).phase === 'failed').toBe(expected);
    }
  });
});
