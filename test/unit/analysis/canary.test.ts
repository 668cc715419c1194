import { describe, expect, it } from 'vitest';
import { analyseCanary, bakeMetric, bakeValues, canaryMetrics, canaryValues } from '../../../src/analysis/canary.ts';
import { judgeValues } from '../../../src/analysis/metric.ts';
import { errorStats, overThreshold, type AccessEntry } from '../../../src/deploy/access-log.ts';
import { releaseStats, type CanaryThresholds, type ReleaseStats } from '../../../src/deploy/canary-analysis.ts';

/**
 * The canary verdict as the strategy computed it before it moved onto the analysis engine (the
 * oracle): fleet-wide from minRequests, else each host that served minRequests against its own
 * old release; inconclusive when the fleet saw fewer.
 */
function oldVerdict(perHost: Map<string, AccessEntry[]>, t: CanaryThresholds): 'promote' | 'rollback' | 'inconclusive' {
  const judge = (c: ReleaseStats, b: ReleaseStats) =>
    (c.errorRate > t.maxErrorRate && c.errorRate > b.errorRate + t.maxErrorRateIncrease) ||
    (c.p95Ms !== undefined && b.p95Ms !== undefined && c.p95Ms > b.p95Ms * t.maxP95Ratio && c.p95Ms - b.p95Ms > t.p95SlackMs);
  const all = [...perHost.values()].flat();
  const c = releaseStats(all.filter((e) => e.release === 'v2'));
  if (c.requests >= t.minRequests && judge(c, releaseStats(all.filter((e) => e.release === 'v1')))) return 'rollback';
  for (const es of perHost.values()) {
    const hc = releaseStats(es.filter((e) => e.release === 'v2'));
    if (hc.requests >= t.minRequests && judge(hc, releaseStats(es.filter((e) => e.release === 'v1')))) return 'rollback';
  }
  return c.requests >= t.minRequests ? 'promote' : 'inconclusive';
}

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

describe("the deploy's rules as analysis metrics", () => {
  it('canary: the metrics decide exactly as the rules the strategy applied before (3000 random steps on 1-3 hosts, 100 % steps included)', () => {
    const r = rng(42);
    const seen = { promote: 0, rollback: 0, inconclusive: 0 };
    for (let i = 0; i < 3000; i++) {
      const perHost = new Map<string, AccessEntry[]>();
      const hosts = 1 + Math.floor(r() * 3);
      const full = r() < 0.2; // the 100 % step: the old release gets nothing
      for (let h = 0; h < hosts; h++) {
        const entries: AccessEntry[] = [];
        const n = { v2: Math.floor(r() * 40), v1: full ? 0 : 1 + Math.floor(r() * 120) };
        const errRate = { v2: r() < 0.5 ? r() * 0.2 : 0, v1: r() * 0.06 };
        const slow = { v2: 5 + r() * (r() < 0.3 ? 400 : 40), v1: 5 + r() * 40 };
        for (const rel of ['v1', 'v2'] as const) for (let k = 0; k < n[rel]; k++) entries.push({ msec: 0, status: r() < errRate[rel] ? 500 : 200, upstream: 'u', release: rel, requestTime: (slow[rel] * (0.5 + r())) / 1000 });
        perHost.set(`web-${h + 1}`, entries);
      }
      const expected = oldVerdict(perHost, T);
      const a = analyseCanary(perHost, { step: 1, percent: full ? 100 : 25, canary: 'v2', baseline: 'v1', thresholds: T });
      expect(a.verdict, JSON.stringify(canaryValues(perHost, { canary: 'v2', baseline: 'v1', minRequests: T.minRequests }))).toBe(expected);
      seen[expected]++;
    }
    // The sample exercises every outcome.
    expect(Math.min(seen.promote, seen.rollback, seen.inconclusive)).toBeGreaterThan(200);
  });

  it('canary: one host gets the fleet-wide metrics only; more hosts add per-host ones', () => {
    expect(canaryMetrics(T, ['web1']).map((m) => m.name)).toEqual(['canary-error-rate', 'canary-p95']);
    expect(canaryMetrics(T, ['web1', 'web-2']).map((m) => m.name)).toEqual(['canary-error-rate', 'canary-p95', 'canary-error-rate@web1', 'canary-p95@web1', 'canary-error-rate@web-2', 'canary-p95@web-2']);
    expect(canaryMetrics(T, ['web1', 'web-2'])[4]!.failureCondition!.source).toBe('web_2.canary.requests >= 20 && web_2.canary.error_rate > 0.05 && web_2.canary.error_rate > web_2.baseline.error_rate + 0.02');
  });

  it('bake: the metric fails exactly when overThreshold does (minRequests as the provider minimum)', () => {
    const r = rng(7);
    for (let i = 0; i < 1000; i++) {
      const n = Math.floor(r() * 40);
      const rate = r() * 0.15;
      const entries: AccessEntry[] = Array.from({ length: n }, () => ({ msec: 0, status: r() < rate ? 502 : 200, upstream: 'u', release: 'v2' }));
      const min = r() < 0.5 ? 5 : 20;
      const stats = errorStats(entries, 'v2');
      expect(judgeValues(bakeMetric(0.05), bakeValues(stats, min)).phase === 'failed').toBe(overThreshold(stats, 0.05, min));
    }
  });
});
