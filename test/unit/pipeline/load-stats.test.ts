// Load-test figures as autocannon reports them: latencies in arrival order (not sorted), runs where
// nothing completed, rounding, every SLO gate exactly at its limit.
import { describe, expect, it } from 'vitest';
import { autocannonOptions, loadStats, percentile, sloMisses, type LoadResult } from '../../../src/pipeline/load.ts';

const run = (over: Partial<LoadResult>): LoadResult => ({ latencies: [], rpsSeries: [], responses: 0, non2xx: 0, errors: 0, durationS: 1, ...over });
const slo = { p95Ms: 100, p99Ms: 200, maxErrorRate: 0.01, minRps: 10 };

describe('load figures', () => {
  it('percentiles of latencies in arrival order (autocannon does not sort them)', () => {
    // 20 responses, the slowest ones first.
    const latencies = [400, 300, ...Array.from({ length: 18 }, (_, i) => 18 - i)];
    const s = loadStats(run({ latencies, responses: 20, durationS: 2 }));
    expect(s.p50Ms).toBe(10);
    expect(s.p95Ms).toBe(300);
    expect(s.p99Ms).toBe(400);
    expect(s.maxMs).toBe(400);
    expect(s.percentiles).toEqual([
      { p: 50, ms: 10 },
      { p: 75, ms: 15 },
      { p: 90, ms: 18 },
      { p: 95, ms: 300 },
      { p: 99, ms: 400 },
      { p: 99.9, ms: 400 },
      { p: 100, ms: 400 },
    ]);
    expect(s.rps).toBe(10);
  });

  it('percentile: rank clamped to the values, p0 the smallest', () => {
    expect(percentile([1, 2, 3], 0)).toBe(1);
    expect(percentile([1, 2, 3], 150)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it('"no request completed": zeros everywhere and a gate miss, not NaN', () => {
    const s = loadStats(run({ durationS: 5 }));
    expect(s).toEqual({
      p50Ms: 0,
      p95Ms: 0,
      p99Ms: 0,
      maxMs: 0,
      rps: 0,
      requests: 0,
      errors: 0,
      non2xx: 0,
      errorRate: 0,
      percentiles: [50, 75, 90, 95, 99, 99.9, 100].map((p) => ({ p, ms: 0 })),
    });
    expect(sloMisses(s, { ...slo, minRps: 0 })).toEqual(['no request completed']);
  });

  it('only socket errors: every request failed', () => {
    const s = loadStats(run({ errors: 4, durationS: 2 }));
    expect(s).toMatchObject({ requests: 4, errors: 4, errorRate: 1, rps: 0 });
    expect(sloMisses(s, { ...slo, minRps: 0 })).toEqual(['error rate 100.00% > 1.00%']);
  });

  it('rounds latencies to 2 decimals, rps to 1, the error rate to 4; a zero duration gives 0 rps', () => {
    const s = loadStats(run({ latencies: [1.23456, 2.34567, 3.45678], responses: 3, non2xx: 1, durationS: 0.7 }));
    expect(s).toMatchObject({ p50Ms: 2.35, maxMs: 3.46, rps: 4.3, errorRate: 0.3333, non2xx: 1 });
    expect(loadStats(run({ latencies: [1], responses: 1, durationS: 0 })).rps).toBe(0);
  });

  it('each gate holds exactly at its limit and misses just past it', () => {
    const at = { p50Ms: 1, p95Ms: 100, p99Ms: 200, maxMs: 300, rps: 10, requests: 100, errors: 0, non2xx: 1, errorRate: 0.01, percentiles: [] };
    expect(sloMisses(at, slo)).toEqual([]);
    expect(sloMisses({ ...at, p95Ms: 100.01 }, slo)).toEqual(['p95 100.01 ms > 100 ms']);
    expect(sloMisses({ ...at, p99Ms: 200.01 }, slo)).toEqual(['p99 200.01 ms > 200 ms']);
    expect(sloMisses({ ...at, errorRate: 0.0101 }, slo)).toEqual(['error rate 1.01% > 1.00%']);
    expect(sloMisses({ ...at, rps: 9.9 }, slo)).toEqual(['9.9 req/s < 10 req/s']);
  });

  it('autocannon options: 10 s by default; no rate, amount or body unless given', () => {
    const o = autocannonOptions({ url: 'http://127.0.0.1:9/', method: 'GET', connections: 2 });
    expect(o).toMatchObject({ url: 'http://127.0.0.1:9/', method: 'GET', connections: 2, duration: 10, timeout: 10 });
    expect(Object.keys(o).sort()).toEqual(['connections', 'duration', 'method', 'setupClient', 'timeout', 'url']);
    const body = autocannonOptions({ url: 'u', method: 'PUT', body: '', connections: 1, durationSeconds: 2 });
    expect(body).toMatchObject({ body: '', headers: { 'content-type': 'application/json' }, duration: 2 });
  });
});
