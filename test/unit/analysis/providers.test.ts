import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEntry } from '../../../src/deploy/access-log.ts';
import { accessLogProvider, accessLogValues, fleetValues } from '../../../src/analysis/providers/access-log.ts';
import { jobProvider } from '../../../src/analysis/providers/job.ts';
import { prometheusProvider, prometheusValue } from '../../../src/analysis/providers/prometheus.ts';
import { parseJsonPath, valueAt, webProvider } from '../../../src/analysis/providers/web.ts';

const entry = (status: number, ms: number, release = 'v2'): AccessEntry => ({ msec: 0, status, upstream: '10.0.0.2:3000', release, requestTime: ms / 1000 });

describe('access-log provider', () => {
  it('rates, availability and percentiles of one set of entries', () => {
    const es = [...Array.from({ length: 18 }, (_, i) => entry(200, 10 + i)), entry(500, 100), entry(502, 3000)];
    expect(accessLogValues(es, 20)).toEqual({ requests: 20, errors: 2, error_rate: 0.1, availability: 0.9, p50_ms: 19, p95_ms: 100, p99_ms: 3000 });
  });
  it('below minRequests only counts: rate conditions are inconclusive, not judged on a handful', () => {
    expect(accessLogValues([entry(500, 1), entry(500, 1)], 20)).toEqual({ requests: 2, errors: 2 });
    expect(accessLogValues([], 0)).toEqual({ requests: 0, errors: 0 });
  });
  it('fleet-wide and per host, only the guarded release', () => {
    const perHost = new Map([
      ['web1', [entry(200, 5), entry(200, 5), entry(500, 5, 'v1')]],
      ['web2', [entry(500, 5), entry(200, 5)]],
    ]);
    const v = fleetValues(perHost, 1, 'v2');
    expect(v).toMatchObject({ requests: 4, errors: 1, error_rate: 0.25, 'web1.requests': 2, 'web1.error_rate': 0, 'web2.error_rate': 0.5 });
  });
  it('each measurement reads what the source gives since the previous one', async () => {
    const batches = [new Map([['web1', [entry(200, 1)]]]), new Map([['web1', [entry(500, 1), entry(500, 1)]]])];
    const p = accessLogProvider({ hosts: ['web1'], release: 'v2', read: async () => batches.shift()! }, 1);
    expect(await p.measure()).toMatchObject({ requests: 1, error_rate: 0 });
    expect(await p.measure()).toMatchObject({ requests: 2, error_rate: 1 });
    expect(p.label).toBe('access logs of web1 (release v2)');
  });
});

describe('prometheus provider', () => {
  it('reads a one-sample vector or a scalar, and says why otherwise', () => {
    expect(prometheusValue({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1733040000.1, '0.0734'] }] } })).toBe(0.0734);
    expect(prometheusValue({ status: 'success', data: { resultType: 'scalar', result: [1733040000.1, '2'] } })).toBe(2);
    expect(() => prometheusValue({ status: 'success', data: { resultType: 'vector', result: [] } })).toThrow('the query returned no samples');
    expect(() => prometheusValue({ status: 'success', data: { resultType: 'vector', result: [{ value: [0, '1'] }, { value: [0, '2'] }] } })).toThrow(/2 series; aggregate/);
    expect(() => prometheusValue({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' })).toThrow('query failed: parse error at char 5');
    expect(() => prometheusValue({ status: 'success', data: { resultType: 'vector', result: [{ value: [0, 'NaN'] }] } })).toThrow('the query returned NaN');
  });
});

describe('web provider', () => {
  it('JSON paths', () => {
    expect(parseJsonPath("$.a.b[0]['c d']")).toEqual(['a', 'b', 0, 'c d']);
    expect(valueAt({ a: { b: [{ 'c d': '12.5' }] } }, "$.a.b[0]['c d']")).toBe(12.5);
    expect(valueAt({ ok: true }, '$.ok')).toBe(1);
    expect(valueAt(3, '$')).toBe(3);
    expect(() => valueAt({ a: {} }, '$.a.b')).toThrow('JSON path $.a.b: nothing at .b');
    expect(() => valueAt({ a: 'x' }, '$.a')).toThrow('"x" is not a number or boolean');
    expect(() => parseJsonPath('a.b')).toThrow('must start with $');
    expect(() => parseJsonPath('$.a..b')).toThrow(/cannot read from column 4/);
  });
});

describe('providers over HTTP and processes (a server on 127.0.0.1 this test starts)', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/query')) {
        const q = new URL(req.url, 'http://x').searchParams.get('query');
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, q === 'sum(rate(x[1m]))' ? '0.25' : '0'] }] } }));
      }
      if (req.url === '/health') return res.writeHead(200).end(JSON.stringify({ status: 'ok', checks: { db: { latency_ms: 7 } } }));
      if (req.url === '/slow') return setTimeout(() => res.writeHead(200).end('{}'), 2000);
      res.writeHead(503).end('{"status":"down"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('prometheus: the query is URL-encoded and its value read', async () => {
    expect(await prometheusProvider({ address: `${base}/`, query: 'sum(rate(x[1m]))', timeoutSeconds: 2 }).measure()).toEqual({ result: 0.25 });
  });
  it('web: value and status; an error status or a timeout is a provider error naming the URL', async () => {
    expect(await webProvider({ url: `${base}/health`, jsonPath: '$.checks.db.latency_ms', headers: {}, timeoutSeconds: 2 }).measure()).toEqual({ result: 7, status: 200 });
    await expect(webProvider({ url: `${base}/down`, jsonPath: '$.status', headers: {}, timeoutSeconds: 2 }).measure()).rejects.toThrow(`GET ${base}/down: HTTP 503`);
    await expect(webProvider({ url: `${base}/slow`, jsonPath: '$', headers: {}, timeoutSeconds: 0.2 }).measure()).rejects.toThrow('no answer within 0.2s');
  });
  it('job: exit code decides; a command killed at its timeout is an error', async () => {
    expect(await jobProvider({ command: [process.execPath, '-e', 'process.exit(0)'], timeoutSeconds: 10 }).measure()).toEqual({ exit_code: 0, result: 1 });
    expect(await jobProvider({ command: [process.execPath, '-e', 'process.exit(3)'], timeoutSeconds: 10 }).measure()).toEqual({ exit_code: 3, result: 0 });
    await expect(jobProvider({ command: [process.execPath, '-e', 'setTimeout(()=>{}, 5000)'], timeoutSeconds: 0.3 }).measure()).rejects.toThrow(/killed after 0.3s/);
  });
});

describe('configured metrics -> specs and providers', async () => {
  const { Guard } = await import('../../../src/config/sections/analysis.ts');
  const { metricSpec, providersFor } = await import('../../../src/analysis/spec.ts');
  const { runAnalysis } = await import('../../../src/analysis/run.ts');
  const { manualClock } = await import('../../../src/analysis/clock.ts');

  it("the default guard is the seeds' three rules over one shared access-log read per tick", async () => {
    const g = Guard.parse({});
    expect(g.window).toBe(600);
    expect(g.inconclusive).toBe('pause');
    const specs = g.metrics.map(metricSpec);
    expect(specs.map((s) => `${s.name}: ${s.failureCondition?.source} for ${s.forSeconds}s every ${s.intervalSeconds}s`)).toEqual([
      'error-rate: error_rate > 5% for 120s every 10s',
      'response-time: p95_ms > 2000 for 300s every 10s',
      'availability: availability < 95% for 60s every 10s',
    ]);
    let reads = 0;
    const clock = manualClock();
    // Requests fail 10 % from 300 s on: availability (1 m) decides before error-rate (2 m).
    const metrics = providersFor([...specs, metricSpec({ ...g.metrics[0]!, name: 'strict', provider: { accessLog: { minRequests: 5 } } })], {
      accessLog: () => ({
        hosts: ['web1'],
        release: 'v2',
        read: async () => {
          reads += 1;
          const bad = clock.now() >= 300_000;
          return new Map([['web1', Array.from({ length: 50 }, (_, i) => entry(bad && i % 10 === 0 ? 500 : 200, 20))]]);
        },
      }),
    });
    const r = await runAnalysis({ metrics, clock, windowSeconds: g.window });
    expect(reads).toBe(36); // one read per tick for four metrics
    expect(r.phase).toBe('failed');
    expect(r.seconds).toBe(360);
    expect(r.reasons).toEqual(['availability: "availability < 95%" held for 1m (for: 1m): availability 90.0%, requests 50, errors 5']);
  });

  it('config errors: a bad condition names it, a metric needs a condition and exactly one provider', () => {
    const issues = (v: unknown) => Guard.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ metrics: [{ name: 'x', failureCondition: 'error_rate >' }] })).toEqual(['metrics.0.failureCondition: condition "error_rate >": at column 13: expected a value after the operator (the condition ends here)']);
    expect(issues({ metrics: [{ name: 'x' }] })).toEqual(['metrics.0: expected a failureCondition or a successCondition (or both)']);
    expect(issues({ metrics: [{ name: 'x', failureCondition: 'a > 1', provider: { web: { url: 'http://x/' }, job: { command: ['true'] } } }] })).toEqual(['metrics.0.provider: expected exactly one provider of accessLog, prometheus, web, job (found web, job)']);
    expect(issues({ window: '10 minutes' })?.[0]).toMatch(/^window: /);
    expect(Guard.parse({ window: '10m', metrics: [{ name: 'j', successCondition: 'exit_code == 0', provider: { job: { command: 'npm run probe' } }, count: 1 }] }).metrics[0]!.provider.job!.command).toEqual(['npm', 'run', 'probe']);
  });
});
