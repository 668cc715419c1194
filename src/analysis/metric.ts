/**
 * One metric of an analysis (pure): how a measurement is judged against the success and failure
 * conditions, and what a run of measurements adds up to (a `for:` duration the failure condition
 * must hold, or a failure limit; an inconclusive limit; consecutive provider errors). Modelled on
 * Argo Rollouts' AnalysisTemplate metrics, with Prometheus' `for:` added.
 */
import { evaluate, type Condition, type Values } from './condition.ts';
import { formatDuration } from './duration.ts';

export type ProviderSpec =
  | { kind: 'accessLog'; minRequests: number }
  | { kind: 'prometheus'; address: string; query: string; timeoutSeconds: number }
  | { kind: 'web'; url: string; jsonPath: string; headers: Record<string, string>; timeoutSeconds: number }
  | { kind: 'job'; command: string[]; timeoutSeconds: number };

export interface MetricSpec {
  name: string;
  provider: ProviderSpec;
  /** Seconds between measurements (the first is one interval after the start). */
  intervalSeconds: number;
  /** Measurements after which the metric is done (default: until the window ends). */
  count?: number;
  successCondition?: Condition;
  failureCondition?: Condition;
  /** The failure condition must hold this long (failed measurements in a row) to fail the metric. */
  forSeconds?: number;
  /** Without `for`: the metric fails when more measurements than this failed. */
  failureLimit: number;
  /** The metric is inconclusive when more measurements than this were inconclusive (default: no limit). */
  inconclusiveLimit?: number;
  /** Provider errors in a row beyond this make the metric `error`. */
  consecutiveErrorLimit: number;
}

export type MeasurementPhase = 'successful' | 'failed' | 'inconclusive' | 'error';

export interface Measurement {
  /** Clock time (ms) of the measurement. */
  at: number;
  phase: MeasurementPhase;
  values?: Values;
  /** Provider error, or why the measurement could not be judged. */
  detail?: string;
}

export type MetricPhase = 'running' | 'successful' | 'failed' | 'inconclusive' | 'error';

export interface MetricStatus {
  name: string;
  phase: MetricPhase;
  /** Why it ended as it did (the rule and the figures). */
  reason?: string;
  measurements: number;
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  /** The newest measurement (its values are the figures shown). */
  last?: Measurement;
  /** Clock time the failure condition began to hold without a break (`for:`). */
  failingSince?: number;
}

/** Judge one measurement's values (Argo's rules: failure first; a success condition that does not hold fails unless a failure condition is also set). */
export function judgeValues(spec: Pick<MetricSpec, 'successCondition' | 'failureCondition'>, values: Values): { phase: MeasurementPhase; detail?: string } {
  const missing = (c: Condition) => c.names.filter((n) => typeof values[n] !== 'number' || !Number.isFinite(values[n])).join(', ');
  if (spec.failureCondition) {
    const f = evaluate(spec.failureCondition, values);
    if (f === true) return { phase: 'failed' };
    if (f === undefined) return { phase: 'inconclusive', detail: `no value for ${missing(spec.failureCondition)}` };
  }
  if (spec.successCondition) {
    const s = evaluate(spec.successCondition, values);
    if (s === true) return { phase: 'successful' };
    if (s === undefined) return { phase: 'inconclusive', detail: `no value for ${missing(spec.successCondition)}` };
    return spec.failureCondition ? { phase: 'inconclusive', detail: `neither "${spec.successCondition.source}" nor "${spec.failureCondition.source}" holds` } : { phase: 'failed' };
  }
  return { phase: 'successful' };
}

/** Values as figures: `error_rate 10.3%, requests 412` (rates and shares as percentages). */
export function formatValues(values: Values | undefined, names?: readonly string[]): string {
  if (!values) return '';
  const keys = names?.length ? names.filter((n) => n in values) : Object.keys(values);
  return keys
    .map((k) => {
      const v = values[k];
      if (typeof v !== 'number') return `${k} -`;
      const share = /(^|_|\.)(rate|availability|ratio)$|availability/.test(k) && v >= 0 && v <= 1;
      return `${k} ${share ? `${(v * 100).toFixed(1)}%` : Number.isInteger(v) ? v : v.toFixed(1)}`;
    })
    .join(', ');
}

/** The names shown with a metric's figures: those its conditions read, plus request counts when there are any. */
function figureNames(spec: MetricSpec, values: Values | undefined): string[] {
  const names = new Set([...(spec.failureCondition?.names ?? []), ...(spec.successCondition?.names ?? [])]);
  if (values) for (const k of ['requests', 'errors']) if (k in values) names.add(k);
  return [...names];
}

/**
 * What `ms` (oldest first) add up to. `done`: no more measurements will come (count reached or
 * the window ended); a still-running metric is `running` unless a limit has already decided it.
 */
export function assess(spec: MetricSpec, ms: readonly Measurement[], done: boolean): MetricStatus {
  const count = (p: MeasurementPhase) => ms.filter((m) => m.phase === p).length;
  const st: MetricStatus = { name: spec.name, phase: 'running', measurements: ms.length, successful: count('successful'), failed: count('failed'), inconclusive: count('inconclusive'), errors: count('error'), last: ms[ms.length - 1] };
  const figures = (m: Measurement | undefined) => formatValues(m?.values, figureNames(spec, m?.values));
  const rule = spec.failureCondition ? `"${spec.failureCondition.source}"` : spec.successCondition ? `not "${spec.successCondition.source}"` : 'failure';
  // for: the failure condition held without a successful measurement in between (inconclusive
  // and error measurements neither start nor end the streak: a gap in the data is not a recovery).
  let since: number | undefined;
  for (const m of ms) {
    if (m.phase === 'successful') since = undefined;
    else if (m.phase === 'failed' && since === undefined) since = m.at;
  }
  const lastJudged = [...ms].reverse().find((m) => m.phase === 'successful' || m.phase === 'failed');
  if (lastJudged?.phase === 'failed') st.failingSince = since;
  else since = undefined;
  if (spec.forSeconds !== undefined) {
    if (since !== undefined && lastJudged && (lastJudged.at - since) / 1000 >= spec.forSeconds) {
      return { ...st, phase: 'failed', reason: `${spec.name}: ${rule} held for ${formatDuration((lastJudged.at - since) / 1000)} (for: ${formatDuration(spec.forSeconds)}): ${figures(lastJudged)}` };
    }
  } else if (st.failed > spec.failureLimit) {
    const lastFailed = [...ms].reverse().find((m) => m.phase === 'failed');
    return { ...st, phase: 'failed', reason: `${spec.name}: ${rule} in ${st.failed} of ${st.measurements} measurements (failure limit ${spec.failureLimit}): ${figures(lastFailed)}` };
  }
  let errorRun = 0;
  for (const m of ms) errorRun = m.phase === 'error' ? errorRun + 1 : 0;
  if (errorRun > spec.consecutiveErrorLimit) {
    return { ...st, phase: 'error', reason: `${spec.name}: ${errorRun} measurements in a row failed to measure (limit ${spec.consecutiveErrorLimit}): ${st.last?.detail ?? ''}` };
  }
  if (spec.inconclusiveLimit !== undefined && st.inconclusive > spec.inconclusiveLimit) {
    return { ...st, phase: 'inconclusive', reason: `${spec.name}: ${st.inconclusive} inconclusive measurements (limit ${spec.inconclusiveLimit}): ${lastDetail(ms, 'inconclusive')}` };
  }
  if (!done) return st;
  if (st.failingSince !== undefined && spec.forSeconds !== undefined) {
    return { ...st, phase: 'inconclusive', reason: `${spec.name}: ${rule} had held for ${formatDuration((lastJudged!.at - st.failingSince) / 1000)} when measuring ended (for: ${formatDuration(spec.forSeconds)} not reached): ${figures(lastJudged)}` };
  }
  if (st.successful + st.failed === 0) {
    const why = st.measurements === 0 ? 'no measurement was taken' : lastDetail(ms, 'inconclusive') || lastDetail(ms, 'error');
    return { ...st, phase: 'inconclusive', reason: `${spec.name}: no conclusive measurement (${why})` };
  }
  return { ...st, phase: 'successful', reason: `${spec.name}: ${st.successful} of ${st.measurements} measurements passed${st.last?.values ? `; last: ${figures(st.last)}` : ''}` };
}

function lastDetail(ms: readonly Measurement[], phase: MeasurementPhase): string {
  return [...ms].reverse().find((m) => m.phase === phase)?.detail ?? '';
}
