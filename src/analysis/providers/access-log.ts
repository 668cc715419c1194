/**
 * The built-in provider: the hosts' proxies' JSON access logs. Each measurement covers the
 * requests logged since the previous one (the caller's `read` returns only new entries), so a
 * measurement is the rate over its interval. Values: `requests`, `errors` (5xx), `error_rate`,
 * `availability` (share of non-5xx), `p50_ms`/`p95_ms`/`p99_ms` (nginx request_time), and
 * `<host>.<value>` for each host. Below `minRequests` only the counts are given, so conditions on
 * rates are inconclusive rather than judged on two requests.
 */
import type { AccessEntry } from '../../deploy/access-log.ts';
import { percentile } from '../../deploy/canary-analysis.ts';
import type { Values } from '../condition.ts';
import type { Provider } from './types.ts';

/** Values of one set of entries (pure). */
export function accessLogValues(entries: readonly AccessEntry[], minRequests: number): Record<string, number> {
  const requests = entries.length;
  const errors = entries.filter((e) => e.status >= 500).length;
  const out: Record<string, number> = { requests, errors };
  if (requests === 0 || requests < minRequests) return out;
  out.error_rate = errors / requests;
  out.availability = 1 - errors / requests;
  const times = entries.flatMap((e) => (e.requestTime !== undefined ? [e.requestTime * 1000] : []));
  for (const p of [50, 95, 99]) {
    const v = percentile(times, p);
    if (v !== undefined) out[`p${p}_ms`] = Math.round(v * 1000) / 1000;
  }
  return out;
}

/** Fleet-wide values plus `<host>.<name>` per host (pure). `release`: only its requests count. */
export function fleetValues(perHost: ReadonlyMap<string, readonly AccessEntry[]>, minRequests: number, release?: string): Values {
  const mine = (es: readonly AccessEntry[]) => (release === undefined ? es : es.filter((e) => e.release === release));
  const all: AccessEntry[] = [];
  const out: Record<string, number> = {};
  for (const [host, entries] of perHost) {
    const m = mine(entries);
    all.push(...m);
    for (const [k, v] of Object.entries(accessLogValues(m, minRequests))) out[`${host}.${k}`] = v;
  }
  return { ...accessLogValues(all, minRequests), ...out };
}

export interface AccessLogSource {
  /** Hosts whose logs are read, for the label. */
  hosts: readonly string[];
  /** Entries each host's proxy logged since the previous call (the first call: since the start). */
  read(): Promise<Map<string, AccessEntry[]>>;
  /** Only this release's requests count (the release being guarded). */
  release?: string;
}

/**
 * One read per tick, however many access-log providers (different `minRequests`) share the
 * source: each read consumes the entries since the previous one.
 */
export function sharedSource(source: AccessLogSource): AccessLogSource & { readAt(at: number | undefined): Promise<Map<string, AccessEntry[]>> } {
  let last: { at: number; p: Promise<Map<string, AccessEntry[]>> } | undefined;
  return {
    ...source,
    read: () => source.read(),
    readAt(at) {
      if (at === undefined) return source.read();
      if (last?.at !== at) last = { at, p: source.read() };
      return last.p;
    },
  };
}

export function accessLogProvider(source: AccessLogSource, minRequests: number): Provider {
  const shared = 'readAt' in source ? (source as ReturnType<typeof sharedSource>) : sharedSource(source);
  return {
    key: `accessLog:${minRequests}`,
    label: `access logs of ${source.hosts.join(', ')}${source.release ? ` (release ${source.release})` : ''}`,
    async measure(_signal, at) {
      return fleetValues(await shared.readAt(at), minRequests, source.release);
    },
  };
}
