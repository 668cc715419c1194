/**
 * The deploy's observation windows on the analysis engine (src/analysis/run.ts, the guard's):
 * the bake window after a switch and each canary step's pause. Both look at the access logs once a
 * second from the switch (a look at the start, the last exactly at the window's end), on
 * `deployClock`, so the in-memory simulations stay deterministic. A failed log read is not
 * retried: it ends the window with its own error (an unreachable host is an environment failure,
 * not a verdict). An abort throws its reason.
 */
import { bakeMetric, bakeValues, canaryMetrics, canaryOutcome, canaryValues } from '../../analysis/canary.ts';
import { runAnalysis, type AnalysisResult } from '../../analysis/run.ts';
import { metricSpec, providersFor } from '../../analysis/spec.ts';
import type { Provider } from '../../analysis/providers/types.ts';
import { GateError } from '../../util/errors.ts';
import { sumStats, type AccessEntry, type ErrorStats } from '../access-log.ts';
import { canaryFigures, type CanaryAnalysis } from '../canary-analysis.ts';
import { deployClock } from '../host-ops.ts';
import type { HostPlan, RolloutContext } from './types.ts';

/** The error rate went over the threshold during a bake window. */
export class BakeError extends GateError {}

/** How often the bake and the canary steps look at the access logs. */
export const LOOK_INTERVAL_MS = 1000;

/** Requests the bake needs to judge: 20 during the window, 5 on its last look (which saw all of it). */
const BAKE_MIN_REQUESTS = 20;
const BAKE_MIN_REQUESTS_AT_END = 5;

/** A provider that remembers its last read error, so the window can end with it (its type sets the exit code). */
function remembering(key: string, label: string, measure: (at: number) => Promise<Record<string, number | undefined>>): Provider & { error?: unknown } {
  const p: Provider & { error?: unknown } = {
    key, label,
    measure: async (_signal, at) => {
      try {
        return await measure(at ?? deployClock.now());
      } catch (e) {
        p.error = e;
        throw e;
      }
    },
  };
  return p;
}

/** After a run: an abort throws its reason, a failed read its error. */
function endOf(ctx: RolloutContext, r: AnalysisResult, provider: { error?: unknown }): void {
  if (r.aborted || ctx.signal.aborted) ctx.signal.throwIfAborted();
  if (provider.error !== undefined) throw provider.error;
}

/**
 * Watch the new release's error rate on `plans` (nginx access logs since each switch) for
 * bakeSeconds; fail as soon as enough requests show a rate over maxErrorRate (20 during the
 * window, 5 at its end). Returns the requests seen.
 */
export async function bake(ctx: RolloutContext, plans: HostPlan[]): Promise<ErrorStats> {
  const { bakeSeconds, maxErrorRate } = ctx.target.settings;
  const names = plans.map((p) => p.ops.name).join(', ');
  for (const p of plans) ctx.progress.step(p.ops.name, 'baking', `${bakeSeconds}s, max error rate ${maxErrorRate}`);
  const until = deployClock.now() + bakeSeconds * 1000;
  let stats: ErrorStats = { requests: 0, errors: 0, rate: 0 };
  const provider = remembering('bake', `access logs of ${names}`, async (at) => {
    stats = sumStats(await Promise.all(plans.map((p) => p.ops.errorStatsSince(p.logOffset ?? [], ctx.version))));
    return bakeValues(stats, at >= until ? BAKE_MIN_REQUESTS_AT_END : BAKE_MIN_REQUESTS);
  });
  const r = await runAnalysis({ metrics: [{ spec: bakeMetric(maxErrorRate), provider }], clock: deployClock, windowSeconds: bakeSeconds, signal: ctx.signal, measureAtStart: true, measureAtEnd: true });
  endOf(ctx, r, provider);
  // Too few requests to judge (inconclusive) passes, as a quiet service must be deployable.
  if (r.phase === 'failed') {
    const v = r.metrics[0]!.last?.values ?? {};
    const [requests, errors] = [Number(v.requests), Number(v.errors)];
    throw new BakeError(`error rate ${((errors / requests) * 100).toFixed(1)}% (${errors}/${requests}) on ${names} over the threshold ${(maxErrorRate * 100).toFixed(1)}% during the bake window`);
  }
  for (const p of plans) ctx.progress.step(p.ops.name, 'baked', `${stats.requests} requests, ${stats.errors} errors`);
  return stats;
}

/**
 * Observe one canary step: look at the logs once a second for `pauseSeconds` and stop early on a
 * failed metric (rollback); when the new release saw too few requests to be judged, keep watching
 * up to another pause, promoting as soon as it can.
 */
export async function observeCanaryStep(ctx: RolloutContext, step: number, percent: number, baseline: string): Promise<CanaryAnalysis> {
  const c = ctx.target.settings.canary;
  const hosts = ctx.plans.map((p) => p.ops.name);
  let entries = new Map<string, AccessEntry[]>();
  const provider = remembering('canary', `access logs of ${hosts.join(', ')}`, async () => {
    entries = new Map(await Promise.all(ctx.plans.map(async (p) => [p.ops.name, await p.ops.accessEntriesSince(p.logOffset ?? [])] as const)));
    return canaryValues(entries, { canary: ctx.version, baseline, minRequests: c.minRequests });
  });
  // deploy.canary.metrics: access-log ones read this step's values; the others their own provider.
  const extra = (c.metrics ?? []).map(metricSpec);
  const url = ctx.target.config?.env?.url;
  const metrics = [
    ...[...canaryMetrics(c, hosts), ...extra.filter((s) => s.provider.kind === 'accessLog')].map((spec) => ({ spec, provider: provider as Provider })),
    ...providersFor(extra.filter((s) => s.provider.kind !== 'accessLog'), { jobEnv: { ...process.env, ...(url ? { BASE_URL: url } : {}), PIER_ENV: ctx.target.envName, PIER_VERSION: ctx.version }, cwd: ctx.target.root }),
  ];
  const window = { metrics, clock: deployClock, windowSeconds: c.pauseSeconds, signal: ctx.signal, measureAtEnd: true };
  let r = await runAnalysis({ ...window, measureAtStart: true });
  endOf(ctx, r, provider);
  if (r.phase === 'inconclusive' && c.pauseSeconds > 0) {
    r = await runAnalysis({ ...window, stopWhen: (ms) => ms.every((m) => m.last?.phase === 'successful') });
    endOf(ctx, r, provider);
  }
  const figures = canaryFigures(entries, { canary: ctx.version, baseline });
  const outcome = (phases: string[]) => r.metrics.filter((m) => phases.includes(m.phase)).map((m) => ({ name: m.name, values: m.last?.values, reason: m.reason }));
  return { step, percent, ...figures, ...canaryOutcome(outcome(['failed']), outcome(['inconclusive', 'error']), c, figures.canary.requests) };
}
