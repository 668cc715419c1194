// startLoadThread: the benchmark's load on its own thread. It must really send at the rate and
// report like startLoad, and a main thread that blocks (as a deploy's SSH crypto would) must not
// stop its clock: the requests due while the main thread is busy still go out on time.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLoadThread } from '../helpers/load.ts';

let server: ChildProcess;
let port = 0;
beforeAll(async () => {
  // The app under load lives in its own process, as a real app does.
  server = spawn(process.execPath, ['-e', `const s = require('http').createServer((q, r) => r.end('{"version":"t1"}')).listen(0, '127.0.0.1', () => console.log(s.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = Number(await new Promise<string>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))));
});
afterAll(() => void server.kill());

it('sends at the rate from its own thread, through a busy main thread, and reports each response', async () => {
  const load = await startLoadThread(port, 100, { maxSeconds: 10, spans: true });
  // Block this thread for 600 ms: an in-thread client would send nothing meanwhile.
  const t0 = Date.now();
  while (Date.now() - t0 < 600) { /* busy */ }
  const busyEnd = Date.now();
  await new Promise((r) => setTimeout(r, 300));
  const r = await load.stop();
  expect(r.failed).toBe(0);
  expect(r.ok).toBe(r.sent);
  expect(r.versions).toEqual({ t1: r.sent });
  // ~0.9 s at 100/s; the thread kept sending while this thread was blocked.
  expect(r.sent).toBeGreaterThanOrEqual(60);
  // Requests went out while this thread was blocked (about 40 of them in the middle 400 ms).
  const duringBusy = r.spans!.filter(([sent]) => sent > t0 + 100 && sent < busyEnd - 100).length;
  expect(duringBusy).toBeGreaterThanOrEqual(20);
  expect(r.seconds).toBeGreaterThanOrEqual((busyEnd - t0) / 1000);
  expect(r.rateRps).toBeGreaterThan(70);
});
