/**
 * Canary figures over parsed nginx access-log records: the new and the old release's requests,
 * errors and p95, over the whole fleet and per host and upstream, for the step's printout and the
 * report. The verdict (thresholds as analysis metrics) is src/analysis/canary.ts's.
 */
import type { AccessEntry } from './access-log.ts';

export interface CanaryThresholds {
  /** The new release must serve this many requests before it can be judged. */
  minRequests: number;
  /** Absolute error-rate ceiling for the new release... */
  maxErrorRate: number;
  /** ...which also has to exceed the old release's rate by this much (both must hold to fail). */
  maxErrorRateIncrease: number;
  /** New p95 over old p95 times this... */
  maxP95Ratio: number;
  /** ...and by more than this many ms (both must hold to fail). */
  p95SlackMs: number;
}

export interface ReleaseStats {
  requests: number;
  errors: number;
  errorRate: number;
  /** p95 of nginx request_time in ms (undefined without requests). */
  p95Ms?: number;
}

export interface UpstreamRow extends ReleaseStats {
  host: string;
  upstream: string;
  release: string;
  role: 'canary' | 'baseline';
}

export type CanaryVerdict = 'promote' | 'rollback' | 'inconclusive';

export interface CanaryAnalysis {
  step: number;
  percent: number;
  canary: ReleaseStats;
  baseline: ReleaseStats;
  upstreams: UpstreamRow[];
  verdict: CanaryVerdict;
  /** Why (each crossed threshold, or why no judgement was possible). */
  reasons: string[];
}

/** Nearest-rank percentile of `values` (p in 0..100); undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/** Requests, 5xx and p95 of a set of entries. */
export function releaseStats(entries: readonly AccessEntry[]): ReleaseStats {
  const errors = entries.filter((e) => e.status >= 500).length;
  const times = entries.flatMap((e) => (e.requestTime !== undefined ? [e.requestTime * 1000] : []));
  const p95 = percentile(times, 95);
  return { requests: entries.length, errors, errorRate: entries.length ? errors / entries.length : 0, ...(p95 !== undefined ? { p95Ms: round(p95) } : {}) };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
export const pct = (r: number) => `${(r * 100).toFixed(1)}%`;

/** Each release's figures for one canary step: fleet-wide and per host and upstream (pure; the verdict is src/analysis/canary.ts's). */
export function canaryFigures(
  perHost: ReadonlyMap<string, readonly AccessEntry[]>,
  o: { canary: string; baseline: string },
): Pick<CanaryAnalysis, 'canary' | 'baseline' | 'upstreams'> {
  const upstreams: UpstreamRow[] = [];
  const all = { canary: [] as AccessEntry[], baseline: [] as AccessEntry[] };
  for (const [host, entries] of perHost) {
    const byUpstream = new Map<string, AccessEntry[]>();
    for (const e of entries) {
      const role = e.release === o.canary ? 'canary' : e.release === o.baseline ? 'baseline' : undefined;
      if (!role) continue; // retried requests ("a, b"), other releases
      all[role].push(e);
      const key = `${role}\u0000${e.upstream}`;
      const list = byUpstream.get(key) ?? [];
      list.push(e);
      byUpstream.set(key, list);
    }
    for (const [key, list] of [...byUpstream.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const [role, upstream] = key.split('\u0000') as ['canary' | 'baseline', string];
      upstreams.push({ host, upstream, release: role === 'canary' ? o.canary : o.baseline, role, ...releaseStats(list) });
    }
  }
  return { canary: releaseStats(all.canary), baseline: releaseStats(all.baseline), upstreams };
}

/** Human lines for one analysis (printed at each step and kept in the report). */
export function formatAnalysis(a: CanaryAnalysis, canary: string, baseline: string): string[] {
  const fmt = (s: ReleaseStats) => `${String(s.requests).padStart(5)} req  ${String(s.errors).padStart(4)} 5xx  ${pct(s.errorRate).padStart(6)}  p95 ${s.p95Ms !== undefined ? `${s.p95Ms} ms` : '-'}`;
  return [
    `canary step ${a.step} (${a.percent}%): ${a.verdict}${a.reasons.length ? ` — ${a.reasons.join('; ')}` : ''}`,
    `  new ${canary.padEnd(12)} ${fmt(a.canary)}`,
    `  old ${baseline.padEnd(12)} ${fmt(a.baseline)}`,
    ...a.upstreams.map((u) => `    ${u.host.padEnd(8)} ${u.role.padEnd(8)} ${u.upstream.padEnd(21)} ${fmt(u)}`),
  ];
}

/** nginx weights for a step: the old and new release's share (nginx weights are >= 1; 100 % drops the old one). */
export function stepWeights(percent: number): { old?: number; new: number } {
  if (percent >= 100) return { new: 1 };
  return { old: 100 - percent, new: percent };
}
