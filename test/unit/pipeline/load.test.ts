import { describe, expect, it } from 'vitest';
import { autocannonOptions, freshStateOnReconnect, loadStats, percentile, sloMisses } from '../../../src/pipeline/load.ts';
import { loadtestHtml, svgChart } from '../../../src/pipeline/html.ts';

describe('load statistics', () => {
  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([], 95)).toBe(0);
    expect(percentile([7], 1)).toBe(7);
  });

  it('error rate counts socket errors and non-2xx over all requests', () => {
    const s = loadStats({ latencies: Array(98).fill(5).concat([50, 100]), rpsSeries: [50, 50], responses: 100, non2xx: 3, errors: 2, durationS: 2 });
    expect(s).toMatchObject({ p50Ms: 5, p95Ms: 5, p99Ms: 50, maxMs: 100, rps: 50, requests: 102, errorRate: 0.049 });
  });

  it('gates on p95, p99, error rate and minimum rps', () => {
    const s = loadStats({ latencies: [10, 20, 300, 600], rpsSeries: [4], responses: 4, non2xx: 1, errors: 0, durationS: 1 });
    expect(sloMisses(s, { p95Ms: 250, p99Ms: 500, maxErrorRate: 0.01, minRps: 100 })).toEqual([
      'p95 600 ms > 250 ms',
      'p99 600 ms > 500 ms',
      'error rate 25.00% > 1.00%',
      '4 req/s < 100 req/s',
    ]);
    expect(sloMisses(s, { p95Ms: 1000, p99Ms: 1000, maxErrorRate: 0.5, minRps: 1 })).toEqual([]);
  });

  it('maps the profile to autocannon options', () => {
    expect(autocannonOptions({ url: 'http://127.0.0.1:1/items', method: 'GET', connections: 5, durationSeconds: 3, rate: 200 })).toEqual({
      url: 'http://127.0.0.1:1/items', method: 'GET', connections: 5, duration: 3, overallRate: 200, timeout: 10, setupClient: freshStateOnReconnect,
    });
    expect(autocannonOptions({ url: 'u', method: 'POST', body: '{}', connections: 1, amount: 50 })).toEqual({
      url: 'u', method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, connections: 1, amount: 50, timeout: 10, setupClient: freshStateOnReconnect,
    });
  });
});

describe('HTML report', () => {
  it('has a percentile bar chart and a requests/s line chart, escaped', () => {
    const stats = loadStats({ latencies: [1, 2, 3, 4], rpsSeries: [2, 2], responses: 4, non2xx: 0, errors: 0, durationS: 2 });
    const html = loadtestHtml({ app: 'a<b', image: 'img', runId: 'r', target: 'GET /items', stats, rpsSeries: [2, 3, 4], slo: { p95Ms: 1, p99Ms: 10, maxErrorRate: 0, minRps: 0 }, misses: ['p95 4 ms > 1 ms'] });
    expect(html).toContain('a&lt;b');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html.match(/class="bar"/g)).toHaveLength(stats.percentiles.length);
    expect(html).toContain('<polyline class="line"');
    expect(html).toContain('SLO missed');
    expect(svgChart('t', [], 'line', 'x')).toContain('<svg');
  });
});
