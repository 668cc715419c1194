/**
 * The autocannon wrapper: one load run against a URL, with every response time recorded so exact
 * p50/p95/p99 can be computed (autocannon's own summary has no p95), requests/s per second for the
 * chart and a live callback for progress.
 */
import autocannon from 'autocannon';

export interface LoadProfile {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: string;
  connections: number;
  durationSeconds?: number;
  amount?: number;
  rate?: number;
}

export interface LoadResult {
  /** Response times in ms, in arrival order. */
  latencies: number[];
  /** Responses per whole second of the run. */
  rpsSeries: number[];
  responses: number;
  non2xx: number;
  errors: number;
  durationS: number;
}

export interface LoadStats {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** (errors + non-2xx) / all requests. */
  errorRate: number;
  percentiles: { p: number; ms: number }[];
}

/** Nearest-rank percentile of sorted values (pure). */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** Figures of a load run (pure). */
export function loadStats(r: LoadResult): LoadStats {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  const total = r.responses + r.errors;
  const ps = [50, 75, 90, 95, 99, 99.9];
  return {
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    rps: r.durationS > 0 ? round(r.responses / r.durationS, 1) : 0,
    requests: total,
    errors: r.errors,
    non2xx: r.non2xx,
    errorRate: total ? round((r.errors + r.non2xx) / total, 4) : 0,
    percentiles: [...ps.map((p) => ({ p, ms: round(percentile(sorted, p)) })), { p: 100, ms: round(sorted[sorted.length - 1] ?? 0) }],
  };
}

export interface Slo {
  p95Ms: number;
  p99Ms: number;
  maxErrorRate: number;
  minRps: number;
}

/** The SLO gates: a list of misses, empty when every gate holds (pure). */
export function sloMisses(s: LoadStats, slo: Slo): string[] {
  const m: string[] = [];
  if (s.p95Ms > slo.p95Ms) m.push(`p95 ${s.p95Ms} ms > ${slo.p95Ms} ms`);
  if (s.p99Ms > slo.p99Ms) m.push(`p99 ${s.p99Ms} ms > ${slo.p99Ms} ms`);
  if (s.errorRate > slo.maxErrorRate) m.push(`error rate ${(s.errorRate * 100).toFixed(2)}% > ${(slo.maxErrorRate * 100).toFixed(2)}%`);
  if (s.rps < slo.minRps) m.push(`${s.rps} req/s < ${slo.minRps} req/s`);
  if (s.requests === 0) m.push('no request completed');
  return m;
}

/** The parts of autocannon's per-connection client (lib/httpClient.js, 9.x) the fix below touches. */
interface AutocannonClient {
  conn?: { destroyed?: boolean };
  parser: { type: string; initialize(type: string): void; finish(): unknown };
  pipelinedRequests: { size(): number; clear(): void };
  _connect(): void;
  _destroyConnection(): void;
}

/**
 * Make autocannon measure what a client sees when the server closes the connection after each
 * response (HTTP/1.0 servers such as Werkzeug's, `Connection: close`). autocannon 9 reconnects on
 * the socket's 'end' but keeps its queue of in-flight requests: the request it wrote onto the
 * closing socket stays queued forever, so every later response is timed from an ever older request
 * (latency grew to seconds within a run while the server answered in milliseconds). On every
 * reconnect this hook completes a read-until-close body, drops the old socket with its stale queue
 * and resets the parser, so each response is timed from its own request, connect time included.
 */
export function freshStateOnReconnect(client: AutocannonClient): void {
  const connect = client._connect;
  client._connect = function (this: AutocannonClient) {
    if (this.conn) {
      // A response without Content-Length ends with the connection: complete it before dropping.
      if (this.pipelinedRequests.size() > 0) this.parser.finish();
      this._destroyConnection(); // removes the old socket's listeners, clears the request queue
      this.parser.initialize(this.parser.type); // same parser kind (response), state reset
    }
    connect.call(this);
  };
}

/** autocannon options for a profile (pure). */
export function autocannonOptions(p: LoadProfile): autocannon.Options {
  return {
    url: p.url,
    method: p.method,
    ...(p.body !== undefined ? { body: p.body, headers: { 'content-type': 'application/json' } } : {}),
    connections: p.connections,
    ...(p.amount ? { amount: p.amount } : { duration: p.durationSeconds ?? 10 }),
    ...(p.rate ? { overallRate: p.rate } : {}),
    timeout: 10,
    setupClient: freshStateOnReconnect as unknown as autocannon.Options['setupClient'],
  };
}

/** Run autocannon once; `onSecond` gets the responses of each second as it passes. */
export function runLoad(p: LoadProfile, onSecond?: (rps: number, second: number) => void, signal?: AbortSignal): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const rpsSeries: number[] = [];
    let non2xx = 0;
    let errors = 0;
    let current = 0;
    const started = Date.now();
    const inst = autocannon(autocannonOptions(p), (err, result) => {
      signal?.removeEventListener('abort', stop);
      if (err) return reject(err);
      // autocannon ticks once more as it stops: that empty bucket is not a second of the run.
      if (current) rpsSeries.push(current);
      else if (rpsSeries.length > 1 && rpsSeries.at(-1) === 0) rpsSeries.pop();
      resolve({
        latencies,
        rpsSeries,
        responses: latencies.length,
        non2xx,
        errors: errors || result.errors,
        durationS: Math.max((Date.now() - started) / 1000, 0.001),
      });
    });
    const stop = () => inst.stop();
    signal?.addEventListener('abort', stop);
    inst.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      current++;
      if (status < 200 || status > 299) non2xx++;
    });
    inst.on('reqError', () => errors++);
    inst.on('tick', () => {
      rpsSeries.push(current);
      onSecond?.(current, rpsSeries.length);
      current = 0;
    });
  });
}
