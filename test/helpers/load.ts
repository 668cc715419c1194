/**
 * Fixed-rate HTTP load for deploy tests: one request every 1/rps seconds (not closed-loop, so a
 * stall shows up as failures or latency, not as fewer requests). Bounded by `maxSeconds`.
 */
import http from 'node:http';

export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  /** Failure descriptions (status or error), first 20. */
  failures: string[];
  versions: Record<string, number>;
}

export interface Load {
  stop(): Promise<LoadResult>;
}

/** Start sending GET `path` to 127.0.0.1:`port` at `rps`. Only loopback ports the test published. */
export function startLoad(port: number, rps = 40, opts: { path?: string; maxSeconds?: number } = {}): Load {
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, failures: [], versions: {} };
  const inflight = new Set<Promise<void>>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const fail = (why: string) => {
    result.failed += 1;
    if (result.failures.length < 20) result.failures.push(why);
  };
  const one = () =>
    new Promise<void>((resolve) => {
      result.sent += 1;
      const req = http.get({ host: '127.0.0.1', port, path: opts.path ?? '/', agent, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          if (res.statusCode === 200) {
            result.ok += 1;
            const v = /"version":"([^"]+)"/.exec(body)?.[1] ?? '?';
            result.versions[v] = (result.versions[v] ?? 0) + 1;
          } else fail(`HTTP ${res.statusCode}`);
          resolve();
        });
        res.on('error', (e) => (fail(e.message), resolve()));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => (fail(e.message), resolve()));
    });
  const deadline = Date.now() + (opts.maxSeconds ?? 180) * 1000;
  const timer = setInterval(() => {
    if (Date.now() > deadline) return clearInterval(timer);
    const p = one();
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  }, 1000 / rps);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      agent.destroy();
      return result;
    },
  };
}
