/** nginx JSON access-log parsing: per-release request and error counts over a window. */

export interface AccessEntry {
  msec: number;
  status: number;
  upstream: string;
  release: string;
  /** nginx $request_time in seconds (latency analysis of canaries). */
  requestTime?: number;
}

/** Parse pier_json lines; malformed lines (e.g. a partly written last line) are skipped. */
export function parseAccessLog(text: string): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line) as Partial<AccessEntry> & { request_time?: unknown };
      if (typeof o.status === 'number') out.push({ msec: Number(o.msec ?? 0), status: o.status, upstream: String(o.upstream ?? ''), release: String(o.release ?? ''), ...(typeof o.request_time === 'number' ? { requestTime: o.request_time } : {}) });
    } catch {
      // ignore
    }
  }
  return out;
}

export interface ErrorStats {
  requests: number;
  errors: number;
  rate: number;
}

/** Requests served by `release` and how many were 5xx. */
export function errorStats(entries: readonly AccessEntry[], release: string): ErrorStats {
  const mine = entries.filter((e) => e.release === release);
  const errors = mine.filter((e) => e.status >= 500).length;
  return { requests: mine.length, errors, rate: mine.length ? errors / mine.length : 0 };
}

/** Add up stats from several hosts. */
export function sumStats(all: readonly ErrorStats[]): ErrorStats {
  const requests = all.reduce((n, s) => n + s.requests, 0);
  const errors = all.reduce((n, s) => n + s.errors, 0);
  return { requests, errors, rate: requests ? errors / requests : 0 };
}

/**
 * The bake verdict: over threshold fails once enough requests were seen to judge
 * (`minRequests`), so two unlucky requests do not roll back a release.
 */
export function overThreshold(s: ErrorStats, maxErrorRate: number, minRequests = 10): boolean {
  return s.requests >= minRequests && s.rate > maxErrorRate;
}
