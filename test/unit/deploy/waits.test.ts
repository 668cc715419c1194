/**
 * The deploy's observation waits, on virtual time (test/sim/clock.ts): when the bake and each
 * canary step look at the access logs, when they stop, and what they throw. The look times are the
 * behaviour contract (one look a second, the last exactly at the end of the window); they were
 * kept when both moved onto the analysis engine (src/analysis/run.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessEntry, ErrorStats } from '../../../src/deploy/access-log.ts';
import { bake, BakeError, observeCanaryStep as observe } from '../../../src/deploy/strategies/observe.ts';
import type { HostPlan, RolloutContext } from '../../../src/deploy/strategies/types.ts';
import { Metric } from '../../../src/config/sections/analysis.ts';
import { installVirtualClock, type VirtualClock } from '../../sim/clock.ts';

let clock: VirtualClock;
let t0 = 0;
beforeEach(() => {
  clock = installVirtualClock();
  t0 = clock.now();
});
afterEach(() => clock.uninstall());
/** Seconds since the test started, on the virtual clock. */
const at = () => (clock.now() - t0) / 1000;

const CANARY = { steps: [50, 100], pauseSeconds: 3, minRequests: 20, maxErrorRate: 0.05, maxErrorRateIncrease: 0.02, maxP95Ratio: 1.5, p95SlackMs: 50 };

interface Host {
  looks: number[];
  stats?: (look: number) => ErrorStats;
  entries?: (look: number) => AccessEntry[];
}

function context(hosts: Host[], settings: { bakeSeconds?: number; maxErrorRate?: number; pauseSeconds?: number; metrics?: unknown[] } = {}, signal = new AbortController().signal) {
  const steps: string[] = [];
  const plans = hosts.map(
    (h, i) =>
      ({
        switched: true,
        logOffset: 0,
        ops: {
          name: `host${i + 1}`,
          async errorStatsSince() {
            h.looks.push(at());
            return h.stats!(h.looks.length);
          },
          async accessEntriesSince() {
            h.looks.push(at());
            return h.entries!(h.looks.length);
          },
        },
      }) as unknown as HostPlan,
  );
  const ctx = {
    version: 'v2',
    plans,
    signal,
    progress: { step: (host: string, phase: string, detail?: string) => steps.push(`${host} ${phase}${detail ? ` ${detail}` : ''}`) },
    target: { settings: { bakeSeconds: 3, maxErrorRate: 0.05, ...settings, canary: { ...CANARY, pauseSeconds: settings.pauseSeconds ?? CANARY.pauseSeconds, metrics: (settings.metrics ?? []).map((m) => Metric.parse(m)) } } },
  } as unknown as RolloutContext;
  return { ctx, steps };
}

const entries = (n: number, release: string, status = 200): AccessEntry[] => Array.from({ length: n }, (_, i) => ({ msec: i, status, upstream: `${release}:3000`, release, requestTime: 0.01 }));

describe('bake', () => {
  it('looks once a second on every host, the last look at the end of the window, and returns the sum', async () => {
    const a: Host = { looks: [], stats: (n) => ({ requests: 10 * n, errors: 0, rate: 0 }) };
    const b: Host = { looks: [], stats: (n) => ({ requests: 5 * n, errors: 0, rate: 0 }) };
    const { ctx, steps } = context([a, b], { bakeSeconds: 3 });
    expect(await bake(ctx, ctx.plans)).toEqual({ requests: 60, errors: 0, rate: 0 });
    expect(a.looks).toEqual([0, 1, 2, 3]);
    expect(b.looks).toEqual([0, 1, 2, 3]);
    expect(at()).toBe(3);
    expect(steps).toEqual(['host1 baking 3s, max error rate 0.05', 'host2 baking 3s, max error rate 0.05', 'host1 baked 60 requests, 0 errors', 'host2 baked 60 requests, 0 errors']);
  });

  it('a window that is not whole seconds still ends with a look at its end', async () => {
    const h: Host = { looks: [], stats: () => ({ requests: 0, errors: 0, rate: 0 }) };
    const { ctx } = context([h], { bakeSeconds: 2.5 });
    await bake(ctx, ctx.plans);
    expect(h.looks).toEqual([0, 1, 2, 2.5]);
  });

  it('a zero window is one look', async () => {
    const h: Host = { looks: [], stats: () => ({ requests: 3, errors: 0, rate: 0 }) };
    const { ctx } = context([h], { bakeSeconds: 0 });
    expect(await bake(ctx, ctx.plans)).toMatchObject({ requests: 3 });
    expect(h.looks).toEqual([0]);
  });

  it('fails as soon as 20 requests show a rate over the threshold, naming the hosts and figures', async () => {
    const h: Host = { looks: [], stats: (n) => (n < 3 ? { requests: 10, errors: 5, rate: 0.5 } : { requests: 40, errors: 10, rate: 0.25 }) };
    const { ctx } = context([h], { bakeSeconds: 30 });
    const err = await bake(ctx, ctx.plans).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BakeError);
    expect((err as Error).message).toBe('error rate 25.0% (10/40) on host1 over the threshold 5.0% during the bake window');
    // 10 requests at 50 % did not count (too few to judge); the third look did.
    expect(h.looks).toEqual([0, 1, 2]);
  });

  it('at the end of the window 5 requests are enough to judge', async () => {
    const h: Host = { looks: [], stats: () => ({ requests: 6, errors: 3, rate: 0.5 }) };
    const { ctx } = context([h], { bakeSeconds: 2 });
    await expect(bake(ctx, ctx.plans)).rejects.toThrow(/error rate 50.0% \(3\/6\)/);
    expect(h.looks).toEqual([0, 1, 2]);
  });

  it('an abort ends it with the abort reason before the next look', async () => {
    const ac = new AbortController();
    const h: Host = { looks: [], stats: () => ({ requests: 0, errors: 0, rate: 0 }) };
    const { ctx } = context([h], { bakeSeconds: 60 }, ac.signal);
    const done = bake(ctx, ctx.plans).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    ac.abort(new Error('interrupted by SIGINT'));
    expect(((await done) as Error).message).toBe('interrupted by SIGINT');
    expect(h.looks.length).toBeLessThanOrEqual(2);
    expect(at()).toBeLessThanOrEqual(1);
  });

  it('a failing log read is not retried', async () => {
    let looks = 0;
    const { ctx } = context([{ looks: [], stats: () => { looks++; throw new Error('host1: ssh: connection lost'); } }]);
    await expect(bake(ctx, ctx.plans)).rejects.toThrow('host1: ssh: connection lost');
    expect(looks).toBe(1);
  });
});

describe('canary observe (one step)', () => {
  it('promotes at the end of the pause when the new release served enough requests', async () => {
    const h: Host = { looks: [], entries: () => [...entries(30, 'v2'), ...entries(30, 'v1')] };
    const { ctx } = context([h]);
    const a = await observe(ctx, 1, 50, 'v1');
    expect(a.verdict).toBe('promote');
    expect(h.looks).toEqual([0, 1, 2, 3]);
  });

  it('rolls back at the first look that crosses a threshold', async () => {
    const h: Host = { looks: [], entries: (n) => [...entries(30, 'v2', n >= 2 ? 500 : 200), ...entries(30, 'v1')] };
    const { ctx } = context([h]);
    const a = await observe(ctx, 2, 100, 'v1');
    expect(a).toMatchObject({ verdict: 'rollback', step: 2, percent: 100 });
    expect(h.looks).toEqual([0, 1]);
  });

  it('with too few requests keeps watching up to a second pause, then returns inconclusive', async () => {
    const h: Host = { looks: [], entries: () => entries(5, 'v2') };
    const { ctx } = context([h]);
    const a = await observe(ctx, 1, 50, 'v1');
    expect(a.verdict).toBe('inconclusive');
    expect(h.looks).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('in the extra time it promotes as soon as enough requests came', async () => {
    const h: Host = { looks: [], entries: (n) => entries(n * 4, 'v2') };
    const { ctx } = context([h]);
    const a = await observe(ctx, 1, 50, 'v1');
    expect(a.verdict).toBe('promote');
    // 20 requests at the fifth look (t = 4 s): past the pause, so it promotes there.
    expect(h.looks).toEqual([0, 1, 2, 3, 4]);
  });

  it('a pause that is not whole seconds gets a look at its end and at the end of the second one', async () => {
    const h: Host = { looks: [], entries: () => [] };
    const { ctx } = context([h], { pauseSeconds: 2.5 });
    expect((await observe(ctx, 1, 50, 'v1')).verdict).toBe('inconclusive');
    expect(h.looks).toEqual([0, 1, 2, 2.5, 3.5, 4.5, 5]);
  });

  it('a zero pause is one look', async () => {
    const h: Host = { looks: [], entries: () => entries(3, 'v2') };
    const { ctx } = context([h], { pauseSeconds: 0 });
    expect((await observe(ctx, 1, 50, 'v1')).verdict).toBe('inconclusive');
    expect(h.looks).toEqual([0]);
  });

  it('looks at every host each time', async () => {
    const a: Host = { looks: [], entries: () => entries(15, 'v2') };
    const b: Host = { looks: [], entries: () => entries(15, 'v2') };
    const { ctx } = context([a, b]);
    expect((await observe(ctx, 1, 50, 'v1')).verdict).toBe('promote');
    expect(a.looks).toEqual([0, 1, 2, 3]);
    expect(b.looks).toEqual(a.looks);
  });

  it('deploy.canary.metrics: a configured condition over the step values rolls back at its look, with its rule and figures', async () => {
    const h: Host = { looks: [], entries: (n) => [...entries(40 * n, 'v2'), ...entries(40, 'v1')] };
    const { ctx } = context([h], { metrics: [{ name: 'canary-volume', interval: '1s', failureCondition: 'canary.requests > 100 && baseline.requests < 50' }] });
    const a = await observe(ctx, 1, 50, 'v1');
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['canary-volume: "canary.requests > 100 && baseline.requests < 50" in 1 of 3 measurements (failure limit 0): canary.requests 120, baseline.requests 40']);
    expect(h.looks).toEqual([0, 1, 2]);
  });

  it('deploy.canary.metrics: a configured metric that cannot be judged keeps the step inconclusive, saying why', async () => {
    const h: Host = { looks: [], entries: () => [...entries(30, 'v2'), ...entries(30, 'v1')] };
    const { ctx } = context([h], { metrics: [{ name: 'needs-prom', interval: '1s', failureCondition: 'result > 1' }] });
    const a = await observe(ctx, 1, 50, 'v1');
    expect(a.verdict).toBe('inconclusive');
    expect(a.reasons).toEqual(['needs-prom: no conclusive measurement (no value for result)']);
    expect(h.looks).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a failing log read is not retried', async () => {
    let looks = 0;
    const { ctx } = context([{ looks: [], entries: () => { looks++; throw new Error('host1: ssh: connection lost'); } }]);
    await expect(observe(ctx, 1, 50, 'v1')).rejects.toThrow('host1: ssh: connection lost');
    expect(looks).toBe(1);
  });

  it('an abort ends it with the abort reason', async () => {
    const ac = new AbortController();
    const h: Host = { looks: [], entries: () => [] };
    const { ctx } = context([h], {}, ac.signal);
    const done = observe(ctx, 1, 50, 'v1').catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    ac.abort(new Error('interrupted by SIGINT'));
    expect(((await done) as Error).message).toBe('interrupted by SIGINT');
    expect(h.looks.length).toBeLessThanOrEqual(2);
  });
});
