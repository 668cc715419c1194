/**
 * Fixed-rate HTTP load for deploy tests and the deploy benchmark: open loop (not closed-loop, so a
 * stall shows up as failures or latency, not as fewer requests). Requests are due by the clock
 * (`elapsed * rps`), not by timer ticks: a busy event loop sends the overdue ones at once instead of
 * silently lowering the offered rate. Each response time is kept for percentiles. Bounded by `maxSeconds`.
 */
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** HTTPS only: requests retried once because the keep-alive connection they were written on was closed by the server before any answer. */
  retriedReused: number;
  /** When each of those resets was seen (Date.now()), up to 100,000: to tell whether they cluster at reloads. */
  retriedAt: number[];
  /** Failure descriptions (status or error), first 20. */
  failures: string[];
  /** When each failed request was sent (Date.now()), up to 1,000,000: to tell failures of one moment from the rest. */
  failedSentAt: number[];
  /** With `spans`: [sent, done] (Date.now()) of every request, up to 1,000,000 (e.g. how many were in flight at a moment). */
  spans?: [number, number][];
  versions: Record<string, number>;
  /** Seconds from start to stop. */
  seconds: number;
  /** Offered rate actually achieved: sent / seconds. */
  rateRps: number;
  /** Response-time percentiles (ms) of every completed request, failed ones included. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface Load {
  stop(): Promise<LoadResult>;
}

/** The `q` quantile (0..1) of `values` (nearest rank); 0 when empty. Pure. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Start sending GET `path` to 127.0.0.1:`port` at `rps`. Only loopback ports the test published. */
export function startLoad(port: number, rps = 40, opts: { path?: string; maxSeconds?: number; spans?: boolean; tls?: { ca: string; servername: string } } = {}): Load {
  const result = { sent: 0, ok: 0, failed: 0, retriedReused: 0, retriedAt: [] as number[], failures: [] as string[], failedSentAt: [] as number[], versions: {} as Record<string, number>, ...(opts.spans ? { spans: [] as [number, number][] } : {}) };
  const latencies: number[] = [];
  const inflight = new Set<Promise<void>>();
  // Enough sockets that the client never queues requests itself at the rates used here.
  // With `tls`: HTTPS, the certificate checked against `ca` for `servername` (a failed check is a
  // failed request). TLS passes through the front load balancer to a host's nginx, so a reloading
  // nginx closes idle keep-alive connections itself; a request written on such a connection just
  // as it closes gets no answer. Like browsers, curl and Go's http.Transport, the client then
  // retries it once on a new connection (Node's `reusedSocket` case); those are counted in
  // `retriedReused`, and any other error, or a second one, is a failure.
  const agent = opts.tls ? new https.Agent({ keepAlive: true, maxSockets: 512, ca: opts.tls.ca, servername: opts.tls.servername }) : new http.Agent({ keepAlive: true, maxSockets: 512 });
  const get = opts.tls ? https.get : http.get;
  const one = () =>
    new Promise<void>((resolve) => {
      result.sent += 1;
      const sentAt = Date.now();
      const fail = (why: string) => {
        result.failed += 1;
        if (result.failures.length < 20) result.failures.push(why);
        if (result.failedSentAt.length < 1_000_000) result.failedSentAt.push(sentAt);
      };
      const t0 = performance.now();
      const done = () => {
        latencies.push(performance.now() - t0);
        if (result.spans && result.spans.length < 1_000_000) result.spans.push([sentAt, Date.now()]);
        resolve();
      };
      const attempt = (retry: boolean) => {
        let answered = false;
        const req = get({ host: '127.0.0.1', port, path: opts.path ?? '/', agent: retry ? false : agent, timeout: 10_000, ...(opts.tls ? { servername: opts.tls.servername, ca: opts.tls.ca, headers: { host: opts.tls.servername } } : {}) }, (res) => {
          answered = true;
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            if (res.statusCode === 200) {
              result.ok += 1;
              const v = /"version":"([^"]+)"/.exec(body)?.[1] ?? '?';
              result.versions[v] = (result.versions[v] ?? 0) + 1;
            } else fail(`HTTP ${res.statusCode}`);
            done();
          });
          res.on('error', (e) => (fail(e.message), done()));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e: NodeJS.ErrnoException) => {
          if (opts.tls && !retry && !answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.message === 'socket hang up')) {
            result.retriedReused += 1;
            if (result.retriedAt.length < 100_000) result.retriedAt.push(Date.now());
            return attempt(true);
          }
          fail(e.message);
          done();
        });
      };
      attempt(false);
    });
  const started = Date.now();
  const deadline = started + (opts.maxSeconds ?? 180) * 1000;
  let stoppedAt = 0;
  const tick = () => {
    const now = Date.now();
    if (now > deadline) return clearInterval(timer);
    const due = Math.floor(((now - started) / 1000) * rps);
    while (result.sent < due) {
      const p = one();
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    }
  };
  const timer = setInterval(tick, Math.max(1, Math.min(10, 1000 / rps)));
  return {
    async stop() {
      clearInterval(timer);
      stoppedAt = Date.now();
      await Promise.all(inflight);
      agent.destroy();
      const seconds = (Math.min(stoppedAt, deadline) - started) / 1000;
      const round = (n: number) => Number(n.toFixed(1));
      return {
        ...result,
        seconds,
        rateRps: round(seconds > 0 ? result.sent / seconds : 0),
        p50Ms: round(percentile(latencies, 0.5)),
        p99Ms: round(percentile(latencies, 0.99)),
        maxMs: round(percentile(latencies, 1)),
      };
    },
  };
}

/** tsx's ESM register API (package export `tsx/esm/api`, import condition) as a file URL. */
function tsxEsmApi(): string {
  // require.resolve would give the CommonJS build of the export; the ESM one sits beside it.
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
}

/**
 * `startLoad` on a worker thread: the client's timers, sockets and latency clock do not share an
 * event loop with the code under test (a deploy in the same process would otherwise show its own
 * JavaScript work, e.g. SSH crypto, as response time). Resolves once the load is running.
 */
export async function startLoadThread(port: number, rps = 40, opts: Parameters<typeof startLoad>[2] = {}): Promise<Load> {
  // The thread loads load-thread.ts through tsx's loader, registered in the thread (benchmarks run under tsx).
  const boot = `(async () => { (await import(${JSON.stringify(tsxEsmApi())})).register(); await import(${JSON.stringify(new URL('./load-thread.ts', import.meta.url).href)}); })()`;
  const worker = new Worker(boot, { eval: true, workerData: { port, rps, opts } });
  const first = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      // A thread that ends without answering (killed, out of memory) must not leave the caller waiting.
      worker.once('exit', (code) => reject(new Error(`load thread exited (code ${code}) before answering`)));
    });
  await first();
  return {
    async stop() {
      const done = first();
      worker.postMessage('stop');
      const r = (await done) as LoadResult;
      await worker.terminate();
      return r;
    },
  };
}
