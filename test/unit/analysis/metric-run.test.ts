import { describe, expect, it } from 'vitest';
import { parseCondition, type Values } from '../../../src/analysis/condition.ts';
import { manualClock, scaledClock } from '../../../src/analysis/clock.ts';
import { assess, judgeValues, type Measurement, type MetricSpec } from '../../../src/analysis/metric.ts';
import type { Provider } from '../../../src/analysis/providers/types.ts';
import { runAnalysis } from '../../../src/analysis/run.ts';

const spec = (o: Partial<MetricSpec> & { fail?: string; ok?: string } = {}): MetricSpec => ({
  name: o.name ?? 'error-rate',
  provider: { kind: 'accessLog', minRequests: 20 },
  intervalSeconds: o.intervalSeconds ?? 10,
  failureLimit: o.failureLimit ?? 0,
  consecutiveErrorLimit: o.consecutiveErrorLimit ?? 4,
  ...(o.fail ? { failureCondition: parseCondition(o.fail) } : {}),
  ...(o.ok ? { successCondition: parseCondition(o.ok) } : {}),
  ...(o.forSeconds !== undefined ? { forSeconds: o.forSeconds } : {}),
  ...(o.count !== undefined ? { count: o.count } : {}),
  ...(o.inconclusiveLimit !== undefined ? { inconclusiveLimit: o.inconclusiveLimit } : {}),
});

describe('judging one measurement', () => {
  it('failure first; success-only fails when it does not hold; both set and neither holds: inconclusive', () => {
    expect(judgeValues(spec({ fail: 'error_rate > 0.05' }), { error_rate: 0.1 }).phase).toBe('failed');
    expect(judgeValues(spec({ fail: 'error_rate > 0.05' }), { error_rate: 0.01 }).phase).toBe('successful');
    expect(judgeValues(spec({ ok: 'exit_code == 0' }), { exit_code: 1 }).phase).toBe('failed');
    expect(judgeValues(spec({ ok: 'exit_code == 0' }), { exit_code: 0 }).phase).toBe('successful');
    const both = spec({ fail: 'result < 10', ok: 'result > 20' });
    expect(judgeValues(both, { result: 15 })).toEqual({ phase: 'inconclusive', detail: 'neither "result > 20" nor "result < 10" holds' });
    expect(judgeValues(both, { result: 5 }).phase).toBe('failed');
  });
  it('a value the provider did not give (too few requests) is inconclusive and says which', () => {
    expect(judgeValues(spec({ fail: 'error_rate > 0.05' }), { requests: 3, errors: 0 })).toEqual({ phase: 'inconclusive', detail: 'no value for error_rate' });
  });
});

const m = (at: number, phase: Measurement['phase'], values: Values = {}): Measurement => ({ at: at * 1000, phase, values });

describe('a metric over its measurements', () => {
  it('for: fails only once the failure condition held without a break for the duration', () => {
    const s = spec({ fail: 'error_rate > 5%', forSeconds: 120 });
    const ms = [m(10, 'successful'), m(20, 'failed', { error_rate: 0.1 }), m(30, 'successful')];
    // A successful measurement breaks the streak.
    for (let t = 40; t < 160; t += 10) ms.push(m(t, 'failed', { error_rate: 0.1, requests: 100 }));
    expect(assess(s, ms, false).phase).toBe('running');
    expect(assess(s, ms, false).failingSince).toBe(40_000);
    ms.push(m(160, 'failed', { error_rate: 0.1, requests: 100 }));
    const st = assess(s, ms, false);
    expect(st.phase).toBe('failed');
    expect(st.reason).toBe('error-rate: "error_rate > 5%" held for 2m (for: 2m): error_rate 10.0%, requests 100');
  });

  it('for: inconclusive measurements neither start nor break the streak', () => {
    const s = spec({ fail: 'error_rate > 5%', forSeconds: 60 });
    const ms = [m(10, 'failed'), m(20, 'inconclusive'), m(40, 'error'), m(70, 'failed')];
    expect(assess(s, ms, false).phase).toBe('failed');
    expect(assess(s, [m(10, 'inconclusive'), m(20, 'failed'), m(70, 'failed')], false).phase).toBe('running');
  });

  it('for: still failing when measuring ends, short of the duration: inconclusive, saying so', () => {
    const st = assess(spec({ fail: 'error_rate > 5%', forSeconds: 120 }), [m(10, 'successful'), m(20, 'failed', { error_rate: 0.2 }), m(60, 'failed', { error_rate: 0.2 })], true);
    expect(st.phase).toBe('inconclusive');
    expect(st.reason).toMatch(/had held for 40s when measuring ended \(for: 2m not reached\)/);
  });

  it('failure limit without for: fails once more measurements than the limit failed', () => {
    const s = spec({ fail: 'result > 1', failureLimit: 2 });
    expect(assess(s, [m(1, 'failed'), m(2, 'successful'), m(3, 'failed')], false).phase).toBe('running');
    const st = assess(s, [m(1, 'failed'), m(2, 'successful'), m(3, 'failed'), m(4, 'failed', { result: 3 })], false);
    expect(st.phase).toBe('failed');
    expect(st.reason).toBe('error-rate: "result > 1" in 3 of 4 measurements (failure limit 2): result 3');
  });

  it('consecutive provider errors beyond the limit: error; inconclusive limit; nothing conclusive at the end', () => {
    const s = spec({ fail: 'result > 1', consecutiveErrorLimit: 2 });
    const e = (at: number): Measurement => ({ at, phase: 'error', detail: 'GET http://x: no answer within 5s' });
    expect(assess(s, [e(1), e(2), m(3, 'successful'), e(4), e(5)], false).phase).toBe('running');
    const st = assess(s, [e(1), e(2), e(3)], false);
    expect(st.phase).toBe('error');
    expect(st.reason).toMatch(/3 measurements in a row failed to measure \(limit 2\): GET http:\/\/x: no answer within 5s/);
    expect(assess(spec({ fail: 'x > 1', inconclusiveLimit: 1 }), [m(1, 'inconclusive'), m(2, 'inconclusive')], false).phase).toBe('inconclusive');
    const none = assess(spec({ fail: 'x > 1' }), [{ at: 1, phase: 'inconclusive', detail: 'no value for x' }], true);
    expect(none).toMatchObject({ phase: 'inconclusive', reason: 'error-rate: no conclusive measurement (no value for x)' });
    expect(assess(spec({ fail: 'x > 1' }), [m(1, 'successful', { x: 0 })], true).phase).toBe('successful');
  });
});

/** A provider whose values follow a script over rule time. */
function scripted(key: string, at: (tSeconds: number) => Values | Error, clock: { now(): number }, t0: number): Provider & { calls: number } {
  const p = {
    key, label: key, calls: 0,
    async measure() {
      p.calls += 1;
      const v = at((clock.now() - t0) / 1000);
      if (v instanceof Error) throw v;
      return v;
    },
  };
  return p;
}

describe('an analysis run', () => {
  it('the seeds rule: error rate over 5 % for 2 m fails 2 m after the fault starts, not before (10 minutes of rule time, no real time)', async () => {
    const clock = manualClock(1_000_000);
    const t0 = clock.now();
    const provider = scripted('log', (t) => (t >= 300 ? { requests: 100, error_rate: 0.1 } : { requests: 100, error_rate: 0.01 }), clock, t0);
    const seen: number[] = [];
    const r = await runAnalysis({
      metrics: [{ spec: spec({ fail: 'error_rate > 5%', forSeconds: 120 }), provider }],
      clock, windowSeconds: 600,
      onMeasurement: (_s, ms) => seen.push(ms.at),
    });
    expect(r.phase).toBe('failed');
    expect(r.seconds).toBe(420); // first failing sample at 300 s, held for 120 s
    expect(r.reasons).toEqual(['error-rate: "error_rate > 5%" held for 2m (for: 2m): error_rate 10.0%, requests 100']);
    expect(seen.length).toBe(42);
  });

  it('a clean window succeeds after the whole window; metrics sharing a provider measure it once per tick', async () => {
    const clock = manualClock();
    const provider = scripted('log', () => ({ requests: 50, error_rate: 0, availability: 1, p95_ms: 12 }), clock, 0);
    const r = await runAnalysis({
      metrics: [
        { spec: spec({ name: 'error-rate', fail: 'error_rate > 5%', forSeconds: 120 }), provider },
        { spec: spec({ name: 'latency', fail: 'p95_ms > 2000', forSeconds: 300 }), provider },
        { spec: spec({ name: 'availability', fail: 'availability < 95%', forSeconds: 60 }), provider },
      ],
      clock, windowSeconds: 60,
    });
    expect(r.phase).toBe('successful');
    expect(r.seconds).toBe(60);
    expect(provider.calls).toBe(6);
    expect(r.metrics.map((x) => `${x.name}:${x.phase}:${x.measurements}`)).toEqual(['error-rate:successful:6', 'latency:successful:6', 'availability:successful:6']);
  });

  it('count ends a metric early; no traffic at all is inconclusive with the reason', async () => {
    const clock = manualClock();
    const quiet = scripted('quiet', () => ({ requests: 0, errors: 0 }), clock, 0);
    const r = await runAnalysis({ metrics: [{ spec: spec({ fail: 'error_rate > 5%', count: 3, intervalSeconds: 5 }), provider: quiet }], clock });
    expect(r.phase).toBe('inconclusive');
    expect(r.seconds).toBe(15);
    expect(r.reasons).toEqual(['error-rate: no conclusive measurement (no value for error_rate)']);
  });

  it('a provider that keeps failing ends inconclusive (error), not failed', async () => {
    const clock = manualClock();
    const down = scripted('down', () => new Error('GET http://prom:9090/api/v1/query: no answer within 5s'), clock, 0);
    const r = await runAnalysis({ metrics: [{ spec: spec({ name: 'prom', fail: 'result > 1', consecutiveErrorLimit: 2 }), provider: down }], clock, windowSeconds: 600 });
    expect(r.phase).toBe('inconclusive');
    expect(r.seconds).toBe(30);
    expect(r.metrics[0]!.phase).toBe('error');
  });

  it('aborting stops the run and says it could not decide', async () => {
    const clock = manualClock();
    const ac = new AbortController();
    const p = scripted('p', (t) => {
      if (t >= 30) ac.abort();
      return { requests: 100, error_rate: 0 };
    }, clock, 0);
    const r = await runAnalysis({ metrics: [{ spec: spec({ fail: 'error_rate > 5%' }), provider: p }], clock, windowSeconds: 600, signal: ac.signal });
    expect(r).toMatchObject({ phase: 'inconclusive', aborted: true });
    expect(r.reasons).toContain('the analysis was interrupted before it could decide');
    expect(r.seconds).toBeLessThan(60);
  });

  it('refuses a metric that would run forever', async () => {
    await expect(runAnalysis({ metrics: [{ spec: spec({ fail: 'x > 1' }), provider: scripted('p', () => ({}), manualClock(), 0) }], clock: manualClock() })).rejects.toThrow(/needs a count, or a window/);
  });

  it('a scaled clock runs rule minutes in real milliseconds', async () => {
    const clock = scaledClock(200); // 5 minutes of rule time in 1.5 s
    const t0 = Date.now();
    const p = scripted('p', () => ({ requests: 100, error_rate: 0 }), clock, clock.now());
    const r = await runAnalysis({ metrics: [{ spec: spec({ fail: 'error_rate > 5%', intervalSeconds: 30 }), provider: p }], clock, windowSeconds: 300 });
    expect(r.phase).toBe('successful');
    expect(r.seconds).toBeGreaterThanOrEqual(299);
    // Every 30 rule-seconds = 150 ms real; a tick missed on a busy machine is skipped, not replayed.
    expect(p.calls).toBeGreaterThanOrEqual(7);
    expect(p.calls).toBeLessThanOrEqual(10);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - t0).toBeLessThan(4000);
  });
});

describe('the window options the deploy uses (bake window, canary steps)', () => {
  /** A provider recording when it measured (seconds of clock time) and answering `values(n)`. */
  const recorder = (clock: { now(): number }, values: (n: number) => Values) => {
    const at: number[] = [];
    const p: Provider = { key: 'rec', label: 'rec', measure: async () => (at.push(clock.now() / 1000), values(at.length)) };
    return { p, at };
  };

  it('measureAtStart looks at once; measureAtEnd adds a look on an end that is not on a tick, never a second one on a tick', async () => {
    const clock = manualClock(0);
    const a = recorder(clock, () => ({ error_rate: 0 }));
    await runAnalysis({ metrics: [{ spec: spec({ fail: 'error_rate > 5%', intervalSeconds: 1 }), provider: a.p }], clock, windowSeconds: 2.5, measureAtStart: true, measureAtEnd: true });
    expect(a.at).toEqual([0, 1, 2, 2.5]);
    const b = recorder(clock, () => ({ error_rate: 0 }));
    const t0 = clock.now() / 1000;
    await runAnalysis({ metrics: [{ spec: spec({ fail: 'error_rate > 5%', intervalSeconds: 1 }), provider: b.p }], clock, windowSeconds: 3, measureAtEnd: true });
    expect(b.at.map((t) => t - t0)).toEqual([1, 2, 3]);
    // Without the options (the guard): first look one interval in, none at an end off the ticks.
    const c = recorder(clock, () => ({ error_rate: 0 }));
    const t1 = clock.now() / 1000;
    await runAnalysis({ metrics: [{ spec: spec({ fail: 'error_rate > 5%', intervalSeconds: 1 }), provider: c.p }], clock, windowSeconds: 2.5 });
    expect(c.at.map((t) => t - t1)).toEqual([1, 2]);
  });

  it('a zero window with measureAtStart is one look', async () => {
    const clock = manualClock(0);
    const a = recorder(clock, () => ({ error_rate: 0 }));
    const r = await runAnalysis({ metrics: [{ spec: spec({ fail: 'error_rate > 5%', intervalSeconds: 1 }), provider: a.p }], clock, windowSeconds: 0, measureAtStart: true, measureAtEnd: true });
    expect(a.at).toEqual([0]);
    expect(r.phase).toBe('successful');
  });

  it('stopWhen ends the run at the first tick it holds, judging what was measured', async () => {
    const clock = manualClock(0);
    // Inconclusive (no rate) until the third look.
    const a = recorder(clock, (n) => (n >= 3 ? { error_rate: 0.01 } : { requests: n }));
    const r = await runAnalysis({
      metrics: [{ spec: spec({ fail: 'error_rate > 5%', intervalSeconds: 1 }), provider: a.p }], clock, windowSeconds: 10,
      stopWhen: (ms) => ms.every((s) => s.last?.phase === 'successful'),
    });
    expect(a.at).toEqual([1, 2, 3]);
    expect(r).toMatchObject({ phase: 'successful', seconds: 3 });
  });
});
