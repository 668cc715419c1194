// Canary analysis at its boundaries: every threshold exactly at and just past its value, the p95
// rule deciding a verdict on its own, per-host judgement from exactly `minRequests`, the values
// the rules read, and the verdict's reasons (what `mutation testing` showed unchecked).
import { describe, expect, it } from 'vitest';
import { analyseCanary, bakeMetric, bakeValues, canaryOutcome, canaryValues, hostKey } from '../../../src/analysis/canary.ts';
import { judgeValues } from '../../../src/analysis/metric.ts';
import { errorStats, overThreshold, parseAccessLog, sumStats, type AccessEntry } from '../../../src/deploy/access-log.ts';
import { canaryFigures, formatAnalysis, pct, percentile, releaseStats, stepWeights, type CanaryThresholds } from '../../../src/deploy/canary-analysis.ts';

const t: CanaryThresholds = { minRequests: 10, maxErrorRate: 0.05, maxErrorRateIncrease: 0.02, maxP95Ratio: 1.5, p95SlackMs: 50 };

/** n requests to a release, `errors` of them 500, each taking `ms`. */
function reqs(release: string, n: number, errors = 0, ms = 5, upstream = release === 'v1' ? 'old:3000' : 'new:3000'): AccessEntry[] {
  return Array.from({ length: n }, (_, i) => ({ msec: 1000 + i, status: i < errors ? 500 : 200, upstream, release, requestTime: ms / 1000 }));
}
const step = (perHost: Record<string, AccessEntry[]> | Map<string, AccessEntry[]>, thresholds = t) =>
  analyseCanary(perHost, { step: 1, percent: 25, canary: 'v2', baseline: 'v1', thresholds });

describe('canary error-rate threshold at its boundary', () => {
  it('exactly 5.0 % errors is not over the 5 % ceiling; one error more is', () => {
    expect(step({ web1: [...reqs('v1', 100), ...reqs('v2', 20, 1)] }).verdict).toBe('promote');
    const over = step({ web1: [...reqs('v1', 100), ...reqs('v2', 20, 2)] });
    expect(over.verdict).toBe('rollback');
    expect(over.reasons).toEqual(['error rate 10.0% (2/20) > 5.0% and > old 0.0% + 2.0%']);
  });

  it('the increase over the old release is needed too: exactly old + 2 % promotes, more rolls back', () => {
    // new 10 % against old 8 %: 0.08 + 0.02 is exactly 0.1.
    expect(step({ web1: [...reqs('v1', 100, 8), ...reqs('v2', 20, 2)] }).verdict).toBe('promote');
    expect(step({ web1: [...reqs('v1', 100, 7), ...reqs('v2', 20, 2)] }).verdict).toBe('rollback');
  });

  it('exactly minRequests is judged: 10 canary requests, all 5xx, over two hosts rolls back', () => {
    const a = step(new Map([['web1', [...reqs('v1', 50), ...reqs('v2', 5, 5)]], ['web2', [...reqs('v1', 50), ...reqs('v2', 5, 5)]]]));
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['error rate 100.0% (10/10) > 5.0% and > old 0.0% + 2.0%']);
    // One request fewer: not judged.
    const fewer = step(new Map([['web1', [...reqs('v1', 50), ...reqs('v2', 5, 5)]], ['web2', [...reqs('v1', 50), ...reqs('v2', 4, 4)]]]));
    expect(fewer.verdict).toBe('inconclusive');
    expect(fewer.reasons).toEqual(['9 requests on the new release, 10 needed to judge']);
  });

  it('a host with exactly minRequests is judged on its own, one with fewer is not', () => {
    // Fleet-wide 5/210 = 2.4 %: fine; web1's own 5/10 is not.
    const a = step(new Map([['web1', [...reqs('v1', 50), ...reqs('v2', 10, 5)]], ['web2', [...reqs('v1', 50), ...reqs('v2', 200)]]]));
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['web1: error rate 50.0% (5/10) > 5.0% and > old 0.0% + 2.0%']);
    const b = step(new Map([['web1', [...reqs('v1', 50), ...reqs('v2', 9, 5)]], ['web2', [...reqs('v1', 50), ...reqs('v2', 200)]]]));
    expect(b.verdict).toBe('promote');
    expect(b.reasons).toEqual([]);
  });
});

describe('canary p95 threshold', () => {
  it('the ratio decides: 90 ms slower is over the slack but under 1.5x, so it promotes', () => {
    expect(step({ web1: [...reqs('v1', 50, 0, 200), ...reqs('v2', 20, 0, 290)] }).verdict).toBe('promote');
    // Exactly 1.5x (300 ms against 200 ms) is not over it.
    expect(step({ web1: [...reqs('v1', 50, 0, 200), ...reqs('v2', 20, 0, 300)] }).verdict).toBe('promote');
    const a = step({ web1: [...reqs('v1', 50, 0, 200), ...reqs('v2', 20, 0, 301)] });
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['p95 301 ms > old 200 ms x 1.5 (+50 ms slack)']);
  });

  it('the slack decides: exactly 50 ms slower promotes, 51 ms rolls back', () => {
    expect(step({ web1: [...reqs('v1', 50, 0, 20), ...reqs('v2', 20, 0, 70)] }).verdict).toBe('promote');
    expect(step({ web1: [...reqs('v1', 50, 0, 20), ...reqs('v2', 20, 0, 71)] }).verdict).toBe('rollback');
  });

  it('a host slow on its own is caught though the fleet p95 looks fine', () => {
    const a = step(new Map([['web1', [...reqs('v1', 50), ...reqs('v2', 10, 0, 500)]], ['web2', [...reqs('v1', 50), ...reqs('v2', 200)]]]));
    expect(a.canary.p95Ms).toBe(5);
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['web1: p95 500 ms > old 5 ms x 1.5 (+50 ms slack)']);
  });

  it('without old-release traffic (100 %) a slow canary is not judged on latency', () => {
    const a = analyseCanary({ web1: reqs('v2', 30, 0, 900) }, { step: 3, percent: 100, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(a.verdict).toBe('promote');
  });

  it('fleet-wide reasons replace per-host ones when both fail', () => {
    const a = step(new Map([['web1', [...reqs('v1', 50), ...reqs('v2', 10, 5, 500)]], ['web2', [...reqs('v1', 50), ...reqs('v2', 10, 5, 500)]]]));
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['error rate 50.0% (10/20) > 5.0% and > old 0.0% + 2.0%', 'p95 500 ms > old 5 ms x 1.5 (+50 ms slack)']);
  });
});

describe('canary values', () => {
  it('names values per host (unsafe characters replaced, digits first prefixed) and fleet-wide', () => {
    expect(hostKey('web-1.example')).toBe('web_1_example');
    expect(hostKey('9b')).toBe('_9b');
    expect(hostKey('_x9')).toBe('_x9');
    const entries = [...reqs('v1', 4, 1, 10), ...reqs('v2', 10, 2, 20), ...reqs('v3', 7, 7)];
    entries.push({ msec: 1, status: 200, upstream: 'new:3000', release: 'v2', requestTime: 0.1234567 });
    const v = canaryValues(new Map([['web-1', entries]]), { canary: 'v2', baseline: 'v1', minRequests: 10 });
    expect(v).toEqual({
      'web_1.canary.requests': 11,
      'web_1.canary.errors': 2,
      'web_1.canary.error_rate': 2 / 11,
      'web_1.canary.p95_ms': 123.457,
      'web_1.canary.p50_ms': 20,
      'web_1.canary.p99_ms': 123.457,
      'web_1.baseline.requests': 4,
      'web_1.baseline.errors': 1,
      'web_1.baseline.error_rate': 0.25,
      'web_1.baseline.p95_ms': 10,
      'web_1.baseline.p50_ms': 10,
      'web_1.baseline.p99_ms': 10,
      'canary.requests': 11,
      'canary.errors': 2,
      'canary.error_rate': 2 / 11,
      'canary.p95_ms': 123.457,
      'canary.p50_ms': 20,
      'canary.p99_ms': 123.457,
      'baseline.requests': 4,
      'baseline.errors': 1,
      'baseline.error_rate': 0.25,
      'baseline.p95_ms': 10,
      'baseline.p50_ms': 10,
      'baseline.p99_ms': 10,
    });
  });

  it('below minRequests the canary has counts only; an old release without traffic counts as 0 % errors', () => {
    const v = canaryValues(new Map([['web1', reqs('v2', 9, 1)]]), { canary: 'v2', baseline: 'v1', minRequests: 10 });
    expect(v).toEqual({
      'web1.canary.requests': 9,
      'web1.canary.errors': 1,
      'web1.baseline.requests': 0,
      'web1.baseline.errors': 0,
      'web1.baseline.error_rate': 0,
      'canary.requests': 9,
      'canary.errors': 1,
      'baseline.requests': 0,
      'baseline.errors': 0,
      'baseline.error_rate': 0,
    });
  });

  it('entries without request_time give rates but no latency values', () => {
    const v = canaryValues(new Map([['h', [{ msec: 1, status: 503, upstream: 'u', release: 'v2' }]]]), { canary: 'v2', baseline: 'v1', minRequests: 1 });
    expect(v['canary.error_rate']).toBe(1);
    expect(Object.keys(v).filter((k) => k.endsWith('_ms'))).toEqual([]);
  });
});

describe('canary verdict from the metrics', () => {
  it('configured metrics fail with their own reason (or name), shown after the fleet-wide ones', () => {
    expect(canaryOutcome([{ name: 'latency', reason: 'p99 1200 > 800' }], [], t, 50)).toEqual({ verdict: 'rollback', reasons: ['p99 1200 > 800'] });
    expect(canaryOutcome([{ name: 'latency' }], [], t, 50)).toEqual({ verdict: 'rollback', reasons: ['latency'] });
    // A configured metric whose name merely contains a built-in one's is still a configured metric.
    expect(canaryOutcome([{ name: 'my-canary-p95', reason: 'p95 of checkout 900 > 600' }], [], t, 50)).toEqual({ verdict: 'rollback', reasons: ['p95 of checkout 900 > 600'] });
    expect(canaryOutcome([], [{ name: 'my-canary-error-rate', reason: 'no data yet' }], t, 3)).toEqual({ verdict: 'inconclusive', reasons: ['no data yet'] });
    const values = { 'canary.error_rate': 0.5, 'canary.errors': 5, 'canary.requests': 10, 'baseline.error_rate': 0 };
    expect(canaryOutcome([{ name: 'latency', reason: 'slow' }, { name: 'canary-error-rate', values }], [], t, 10).reasons).toEqual([
      'error rate 50.0% (5/10) > 5.0% and > old 0.0% + 2.0%',
      'slow',
    ]);
    // Per-host failures are shown with configured ones when no fleet-wide rule failed.
    const host = { 'web1.canary.error_rate': 0.5, 'web1.canary.errors': 5, 'web1.canary.requests': 10, 'web1.baseline.error_rate': 0 };
    expect(canaryOutcome([{ name: 'canary-error-rate@web1', values: host }, { name: 'latency', reason: 'slow' }], [], t, 10).reasons).toEqual([
      'web1: error rate 50.0% (5/10) > 5.0% and > old 0.0% + 2.0%',
      'slow',
    ]);
  });

  it('inconclusive: the request count only when a built-in rule could not judge; configured ones give their reason', () => {
    expect(canaryOutcome([], [{ name: 'canary-p95' }, { name: 'apdex', reason: 'no data from prometheus' }], t, 3)).toEqual({
      verdict: 'inconclusive',
      reasons: ['3 requests on the new release, 10 needed to judge', 'no data from prometheus'],
    });
    expect(canaryOutcome([], [{ name: 'apdex' }], t, 30)).toEqual({ verdict: 'inconclusive', reasons: ['apdex'] });
    expect(canaryOutcome([], [], t, 30)).toEqual({ verdict: 'promote', reasons: [] });
  });

  it('a failed built-in metric without values still names what failed', () => {
    expect(canaryOutcome([{ name: 'canary-p95' }], [], t, 30).reasons).toEqual(['p95 NaN ms > old NaN ms x 1.5 (+50 ms slack)']);
  });
});

describe('bake window', () => {
  it('the error rate exists from minRequests (and never for no request); exactly the ceiling passes', () => {
    expect(bakeValues({ requests: 5, errors: 1 }, 5)).toEqual({ requests: 5, errors: 1, error_rate: 0.2 });
    expect(bakeValues({ requests: 4, errors: 1 }, 5)).toEqual({ requests: 4, errors: 1 });
    expect(bakeValues({ requests: 0, errors: 0 }, 0)).toEqual({ requests: 0, errors: 0 });
    expect(judgeValues(bakeMetric(0.05), { requests: 20, errors: 1, error_rate: 0.05 }).phase).not.toBe('failed');
    expect(judgeValues(bakeMetric(0.05), { requests: 20, errors: 2, error_rate: 0.1 }).phase).toBe('failed');
    // The name the bake's analysis reports.
    expect(bakeMetric(0.05)).toMatchObject({ name: 'bake-error-rate', failureLimit: 0 });
  });

  it('overThreshold: from exactly minRequests (default 10), strictly over the rate', () => {
    expect(overThreshold({ requests: 10, errors: 1, rate: 0.1 }, 0.05)).toBe(true);
    expect(overThreshold({ requests: 9, errors: 9, rate: 1 }, 0.05)).toBe(false);
    expect(overThreshold({ requests: 20, errors: 1, rate: 0.05 }, 0.05)).toBe(false);
    expect(overThreshold({ requests: 5, errors: 1, rate: 0.2 }, 0.05, 5)).toBe(true);
  });

  it('errorStats counts 5xx (from 500) of one release; sumStats adds hosts up', () => {
    const entries: AccessEntry[] = [
      { msec: 1, status: 500, upstream: 'u', release: 'v2' },
      { msec: 2, status: 499, upstream: 'u', release: 'v2' },
      { msec: 3, status: 200, upstream: 'u', release: 'v2' },
      { msec: 4, status: 502, upstream: 'u', release: 'v1' },
    ];
    expect(errorStats(entries, 'v2')).toEqual({ requests: 3, errors: 1, rate: 1 / 3 });
    expect(errorStats(entries, 'v9')).toEqual({ requests: 0, errors: 0, rate: 0 });
    expect(sumStats([{ requests: 3, errors: 1, rate: 1 / 3 }, { requests: 1, errors: 1, rate: 1 }])).toEqual({ requests: 4, errors: 2, rate: 0.5 });
    expect(sumStats([])).toEqual({ requests: 0, errors: 0, rate: 0 });
  });
});

describe('access-log lines', () => {
  it('fields missing from a line become empty (never "undefined"); lines without a numeric status are skipped', () => {
    const e = parseAccessLog(['{"status":200}', '', '   ', '{"status":"200","release":"v1"}', 'not json', '{"msec":"2.5","status":502,"upstream":"a:1","release":"v2","request_time":"0.1"}'].join('\n'));
    expect(e).toEqual([
      { msec: 0, status: 200, upstream: '', release: '' },
      { msec: 2.5, status: 502, upstream: 'a:1', release: 'v2' },
    ]);
  });
});

describe('canary figures and their printout', () => {
  it('percentile of unsorted values; p0 is the smallest', () => {
    expect(percentile([30, 10, 20], 0)).toBe(10);
    expect(percentile([30, 10, 20], 100)).toBe(30);
    expect(percentile([30, 10, 20, 40], 95)).toBe(40);
  });

  it('releaseStats: 5xx from 500, p95 in ms rounded to 3 decimals, none without timings', () => {
    expect(releaseStats([])).toEqual({ requests: 0, errors: 0, errorRate: 0 });
    expect(releaseStats([{ msec: 1, status: 499, upstream: 'u', release: 'v', requestTime: 0.0123456 }, { msec: 1, status: 500, upstream: 'u', release: 'v' }])).toEqual({
      requests: 2,
      errors: 1,
      errorRate: 0.5,
      p95Ms: 12.346,
    });
  });

  it('rows per host and upstream, old release first, then by upstream; other releases left out', () => {
    const f = canaryFigures(
      new Map([['web1', [...reqs('v2', 2, 1, 5, 'b:1'), ...reqs('v2', 1, 0, 5, 'a:1'), ...reqs('v1', 3, 0, 5, 'z:1'), ...reqs('v0', 4)]]]),
      { canary: 'v2', baseline: 'v1' },
    );
    expect(f.upstreams.map((u) => [u.host, u.role, u.release, u.upstream, u.requests, u.errors])).toEqual([
      ['web1', 'baseline', 'v1', 'z:1', 3, 0],
      ['web1', 'canary', 'v2', 'a:1', 1, 0],
      ['web1', 'canary', 'v2', 'b:1', 2, 1],
    ]);
    expect(f.canary).toEqual({ requests: 3, errors: 1, errorRate: 1 / 3, p95Ms: 5 });
    expect(f.baseline.requests).toBe(3);
  });

  it('prints a step: verdict without a dash when there is no reason, counts padded, "-" for no p95', () => {
    const a = step({ web1: [...reqs('v1', 12), ...reqs('v2', 10, 0, 7)] });
    expect(formatAnalysis(a, 'v2', 'v1')).toEqual([
      'canary step 1 (25%): promote',
      '  new v2              10 req     0 5xx    0.0%  p95 7 ms',
      '  old v1              12 req     0 5xx    0.0%  p95 5 ms',
      '    web1     baseline old:3000                 12 req     0 5xx    0.0%  p95 5 ms',
      '    web1     canary   new:3000                 10 req     0 5xx    0.0%  p95 7 ms',
    ]);
    const none = { ...a, baseline: { requests: 0, errors: 0, errorRate: 0 }, upstreams: [], verdict: 'inconclusive' as const, reasons: ['a', 'b'] };
    expect(formatAnalysis(none, 'v2', 'v1')).toEqual(['canary step 1 (25%): inconclusive — a; b', '  new v2              10 req     0 5xx    0.0%  p95 7 ms', '  old v1               0 req     0 5xx    0.0%  p95 -']);
    expect(pct(0.0525)).toBe('5.3%');
  });

  it('step weights: below 100 % both releases; from 100 % the new one alone', () => {
    expect(stepWeights(1)).toEqual({ old: 99, new: 1 });
    expect(stepWeights(99)).toEqual({ old: 1, new: 99 });
    expect(stepWeights(100)).toEqual({ new: 1 });
    expect(stepWeights(150)).toEqual({ new: 1 });
  });
});
