/**
 * An independent latency measurement to check pier's load-test figures against: plain node:http,
 * a fresh connection per request (agent: false), `connections` closed loops for `durationMs`.
 * Only for 127.0.0.1 ports a test published.
 */
import http from 'node:http';

export interface IndependentResult {
  latencies: number[];
  failures: number;
  p50Ms: number;
  p95Ms: number;
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]! : 0);

export async function measureIndependently(url: string, connections: number, durationMs: number): Promise<IndependentResult> {
  const latencies: number[] = [];
  let failures = 0;
  const until = Date.now() + durationMs;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.get(url, { agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          else failures++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => (failures++, resolve()));
    });
  const loop = async () => {
    while (Date.now() < until) await one();
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const sorted = [...latencies].sort((a, b) => a - b);
  return { latencies, failures, p50Ms: pct(sorted, 50), p95Ms: pct(sorted, 95) };
}
