/**
 * An analysis run: every metric measured on its own interval by its provider (metrics sharing a
 * provider are measured together, once), judged as it goes, for a window or until each metric
 * has its `count`. The first failed metric ends the run; time comes from an injectable clock, so
 * tests run minutes of rule time in seconds (or none at all). The one engine behind the guard, the
 * deploy's bake window and each canary step (src/deploy/strategies/observe.ts); those two also
 * look at the start and at the window's end, and a canary step's extra time stops once it can promote.
 */
import type { Clock } from '../util/poll.ts';
import { assess, judgeValues, type Measurement, type MetricSpec, type MetricStatus } from './metric.ts';
import type { Provider } from './providers/types.ts';

export type AnalysisPhase = 'successful' | 'failed' | 'inconclusive';

export interface AnalysisResult {
  phase: AnalysisPhase;
  /** Rule time the run took, seconds. */
  seconds: number;
  metrics: MetricStatus[];
  /** One line per metric that decided the phase (failed, or inconclusive / error). */
  reasons: string[];
  /** The run was stopped by its signal before it could decide. */
  aborted?: boolean;
}

export interface AnalysisInput {
  metrics: readonly { spec: MetricSpec; provider: Provider }[];
  clock: Clock;
  /** How long to watch (rule time); metrics without `count` need it. */
  windowSeconds?: number;
  signal?: AbortSignal;
  /** Each judged measurement, as it happens (progress lines). */
  onMeasurement?: (metric: MetricSpec, m: Measurement, status: MetricStatus) => void;
  /** Also measure at the start (the deploy's bake and canary steps look right after a switch). */
  measureAtStart?: boolean;
  /** The last measurement lands on the window's end even when the end is not on an interval tick. */
  measureAtEnd?: boolean;
  /** Checked after each tick: true ends the run there (e.g. a canary step that can already promote). */
  stopWhen?: (metrics: readonly MetricStatus[]) => boolean;
}

export async function runAnalysis(input: AnalysisInput): Promise<AnalysisResult> {
  const { clock, signal } = input;
  if (!input.metrics.length) throw new Error('an analysis needs at least one metric');
  for (const { spec } of input.metrics) {
    if (spec.count === undefined && input.windowSeconds === undefined) throw new Error(`metric ${spec.name}: needs a count, or a window for the analysis`);
  }
  const start = clock.now();
  const end = input.windowSeconds !== undefined ? start + input.windowSeconds * 1000 : Number.POSITIVE_INFINITY;
  const first = (m: { spec: MetricSpec }) => start + (input.measureAtStart ? 0 : m.spec.intervalSeconds * 1000);
  const state = input.metrics.map((m) => ({ ...m, ms: [] as Measurement[], next: first(m), done: false, status: assess(m.spec, [], false) }));
  let endTaken = false;
  const finish = (aborted = false): AnalysisResult => {
    for (const s of state) if (s.status.phase === 'running') s.status = assess(s.spec, s.ms, true);
    const metrics = state.map((s) => s.status);
    const failed = metrics.filter((m) => m.phase === 'failed');
    const unsure = metrics.filter((m) => m.phase === 'inconclusive' || m.phase === 'error');
    const phase: AnalysisPhase = failed.length ? 'failed' : unsure.length || aborted ? 'inconclusive' : 'successful';
    const reasons = (failed.length ? failed : unsure).map((m) => m.reason ?? m.name);
    if (aborted && !failed.length) reasons.push('the analysis was interrupted before it could decide');
    return { phase, seconds: (clock.now() - start) / 1000, metrics, reasons, ...(aborted ? { aborted } : {}) };
  };
  for (;;) {
    if (signal?.aborted) return finish(true);
    const live = state.filter((s) => !s.done);
    if (!live.length) return finish();
    let due = Math.min(...live.map((s) => s.next));
    // The window's end as one more tick for every live metric not measured there yet.
    const atEnd = due > end && !!input.measureAtEnd && !endTaken && live.some((s) => (s.ms[s.ms.length - 1]?.at ?? -Infinity) < end);
    if (atEnd) due = end;
    else if (due > end) {
      await clock.sleep(end - clock.now(), signal);
      if (signal?.aborted) return finish(true);
      return finish();
    }
    const wait = due - clock.now();
    if (wait > 0) await clock.sleep(wait, signal);
    if (signal?.aborted) return finish(true);
    const now = clock.now();
    const batch = atEnd ? live : live.filter((s) => s.next <= now);
    if (atEnd) endTaken = true;
    // One measurement per provider per tick, shared by every metric reading it.
    const byProvider = new Map<string, Promise<{ values?: Record<string, number | undefined>; error?: string }>>();
    for (const s of batch) {
      if (!byProvider.has(s.provider.key)) {
        byProvider.set(s.provider.key, s.provider.measure(signal, now).then((values) => ({ values }), (e: Error) => ({ error: e.message })));
      }
    }
    for (const s of batch) {
      const r = await byProvider.get(s.provider.key)!;
      const m: Measurement = r.error !== undefined ? { at: now, phase: 'error', detail: r.error } : { at: now, values: r.values, ...judgeValues(s.spec, r.values!) };
      s.ms.push(m);
      s.next += s.spec.intervalSeconds * 1000;
      // Missed ticks (a slow provider) are skipped, not replayed in a burst.
      while (s.next <= clock.now()) s.next += s.spec.intervalSeconds * 1000;
      const reachedCount = s.spec.count !== undefined && s.ms.length >= s.spec.count;
      s.status = assess(s.spec, s.ms, reachedCount);
      if (reachedCount || s.status.phase !== 'running') s.done = true;
      input.onMeasurement?.(s.spec, m, s.status);
    }
    if (state.some((s) => s.status.phase === 'failed')) return finish();
    if (input.stopWhen?.(state.map((s) => s.status))) return finish();
  }
}
