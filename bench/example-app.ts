// Benchmark of the example app in real containers: warm image build, services ready, migrations,
// start-to-healthy, GET /items throughput and latency (autocannon), and SIGTERM-to-exit while
// under load. Traffic goes only to the port the app publishes on 127.0.0.1.
// Run: npx tsx bench/example-app.ts [--seconds 5] [--connections 10]
// The last line of output is one JSON object of figures.
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { newRunId } from '../src/util/run-id.ts';
import { ExampleStack, DATABASE_URL, httpCall, waitExit } from '../test/helpers/example-stack.ts';
import { poll } from '../src/util/poll.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '10' } } });
const seconds = Math.min(Math.max(Number(values.seconds) || 5, 1), 60);
const connections = Math.min(Math.max(Number(values.connections) || 10, 1), 100);

/** Milliseconds taken by `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, Math.round(performance.now() - t0)];
}

const stack = new ExampleStack(newRunId(), 'example-app-bench');
try {
  const [, buildMs] = await timed(() => stack.build('runtime'));
  const [, servicesMs] = await timed(() => stack.startServices());
  const [migrated, migrateMs] = await timed(() => stack.runOnce({ Image: stack.tag, Cmd: ['node', 'src/migrate.js'], Env: [`DATABASE_URL=${DATABASE_URL}`] }, 60_000));
  if (migrated.code !== 0) throw new Error(`migrate exited ${migrated.code}: ${migrated.log}`);

  const [{ app, base }, startMs] = await timed(async () => {
    const started = await stack.startApp(['LOG_LEVEL=warn']);
    await poll('/health 200', async () => ((await httpCall(`${started.base}/health`, { timeoutMs: 2000 })).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    return started;
  });

  // A few rows so GET /items returns a realistic body.
  for (let i = 0; i < 20; i++) {
    const r = await httpCall(`${base}/items`, { method: 'POST', body: JSON.stringify({ name: `bench item ${i}`, quantity: i }) });
    if (r.status !== 201) throw new Error(`seeding: POST /items answered ${r.status}`);
  }

  await autocannon({ url: `${base}/items`, connections, duration: 1 }); // warm-up, discarded
  const load = await autocannon({ url: `${base}/items`, connections, duration: seconds });

  // SIGTERM while a second load run is going: time until the container has exited.
  const during = autocannon({ url: `${base}/items`, connections, duration: 3 });
  await new Promise((r) => setTimeout(r, 1000));
  const [exitCode, shutdownMs] = await timed(async () => {
    await app.kill({ signal: 'SIGTERM' });
    return waitExit(app, 20_000);
  });
  const drained = await during;

  const figures = {
    bench: 'example-app',
    image: stack.images.node,
    build_warm_ms: buildMs,
    services_ready_ms: servicesMs,
    migrate_ms: migrateMs,
    app_start_to_healthy_ms: startMs,
    items_rps: Math.round(load.requests.average),
    items_latency_p50_ms: load.latency.p50,
    items_latency_p90_ms: load.latency.p90,
    items_latency_p99_ms: load.latency.p99,
    items_non2xx: load.non2xx,
    items_errors: load.errors,
    connections,
    seconds,
    shutdown_under_load_ms: shutdownMs,
    shutdown_exit_code: exitCode,
    shutdown_non2xx: drained.non2xx,
  };
  console.log(JSON.stringify(figures));
} finally {
  await stack.close();
}
