// The example app for real: build its runtime image with BuildKit, run it beside PostgreSQL and
// Redis containers on a network of its own, and check migrations, CRUD, /health through a cache
// outage, the image's HEALTHCHECK, and a SIGTERM in the middle of a burst of requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type Docker from 'dockerode';
import { docker } from '../../src/docker/client.ts';
import { newRunId } from '../../src/util/run-id.ts';
import { DATABASE_URL, ExampleStack, REDIS_URL, healthStatus, logsOf, waitExit } from '../helpers/example-stack.ts';
import { poll } from '../../src/util/poll.ts';

const runId = newRunId();
const stack = new ExampleStack(runId, 'example-app');
const tag = stack.tag;
let redis: Docker.Container;
let app: Docker.Container;
let base = '';

interface Reply {
  status: number;
  body: any;
  ms: number;
}

/** One HTTP request to the app's published port. */
function call(path: string, init: { method?: string; json?: unknown; id?: string; agent?: http.Agent } = {}): Promise<Reply> {
  const t0 = Date.now();
  const payload = init.json === undefined ? undefined : JSON.stringify(init.json);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      {
        method: init.method ?? 'GET',
        agent: init.agent ?? false,
        timeout: 15_000,
        headers: { 'content-type': 'application/json', ...(init.id ? { 'x-request-id': init.id } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          const json = res.headers['content-type']?.includes('json') && text ? JSON.parse(text) : text;
          resolve({ status: res.statusCode ?? 0, body: json, ms: Date.now() - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout after 15 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

describe('example app (examples/api) in real containers', () => {
  beforeAll(async () => {
    await stack.build('runtime');
    ({ redis } = await stack.startServices());
  });

  // Everything this file created, also on failure; the image tags go too (build cache stays).
  afterAll(() => stack.close());

  it('runs the runtime image as the non-root node user with no build secret left in it', async () => {
    const info = await docker().getImage(tag).inspect();
    expect(info.Config.User).toBe('node');
    expect(info.Config.Healthcheck?.Test?.join(' ')).toContain('/health');
    expect(info.Config.Cmd).toEqual(['node', 'src/server.js']);
    const { code, log } = await stack.runOnce(
      { Image: tag, Cmd: ['sh', '-c', 'id -u; test ! -e /run/secrets/ca && echo no-ca; grep -rlsF "BEGIN CERTIFICATE" /app/src /app/package.json /root 2>/dev/null | wc -l'] },
      20_000,
    );
    expect(code).toBe(0);
    expect(log.trim().split('\n')).toEqual(['1000', 'no-ca', '0']);
  });

  it('applies migrations as a one-off release step; two at once apply each file exactly once', async () => {
    const migrate = { Image: tag, Cmd: ['node', 'src/migrate.js'], Env: [`DATABASE_URL=${DATABASE_URL}`] };
    const [a, b] = await Promise.all([stack.runOnce(migrate, 60_000), stack.runOnce(migrate, 60_000)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const both = a.log + b.log;
    expect(both.match(/applied 001_create_items\.sql/g)).toHaveLength(1);
    expect(both.match(/applied 002_items_name_index\.sql/g)).toHaveLength(1);
    expect(both.match(/applied 003_create_jobs_done\.sql/g)).toHaveLength(1);
    expect(both).toMatch(/up to date \(3 migrations already applied\)/);
    expect(both).not.toContain('api:api@'); // the URL (with its password) is never printed
  });

  it('starts, publishes 127.0.0.1::3000 and answers /health and /version', async () => {
    ({ app, base } = await stack.startApp([
      `APP_VERSION=itest-${runId}`,
      // Every item request takes 150 ms more, so the SIGTERM below surely finds requests in flight.
      'DELAY_MS=150',
      'SHUTDOWN_TIMEOUT_MS=15000',
      'MIGRATE_ON_START=1', // as the dev stack runs it: finds the schema up to date
    ]));
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await poll('app /health 200', async () => {
      const r = await call('/health');
      return r.status === 200 ? r : undefined;
    }, { timeoutMs: 30_000 });
    expect(health.body).toEqual({ status: 'ok', version: `itest-${runId}`, database: 'ok', cache: 'ok' });
    expect((await call('/version')).body).toEqual({ version: `itest-${runId}` });
    expect(await logsOf(app)).toMatch(/"msg":"migrate: up to date \(3 migrations already applied\)"/);
  });

  it('serves CRUD with 201/200/204, 400 naming the bad field and 404', async () => {
    const created = await call('/items', { method: 'POST', json: { name: 'bolts', quantity: 3 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'bolts', quantity: 3 });
    const id = created.body.id as number;

    expect((await call(`/items/${id}`)).body).toEqual(created.body);
    const list = await call('/items');
    expect(list.status).toBe(200);
    expect(list.body.map((i: { id: number }) => i.id)).toContain(id);

    const updated = await call(`/items/${id}`, { method: 'PUT', json: { quantity: 7 } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id, name: 'bolts', quantity: 7 });

    const noName = await call('/items', { method: 'POST', json: { quantity: 1 } });
    expect(noName.status).toBe(400);
    expect(noName.body).toEqual({ error: 'name: is required (a string of 1 to 100 characters)', field: 'name' });
    const badQty = await call('/items', { method: 'POST', json: { name: 'x', quantity: -1 } });
    expect(badQty.status).toBe(400);
    expect(badQty.body.field).toBe('quantity');
    expect((await call('/items/abc')).status).toBe(400);

    expect((await call(`/items/${id}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await call(`/items/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ error: `item ${id} not found` });
    expect((await call('/items')).body.map((i: { id: number }) => i.id)).not.toContain(id);

    const metrics = await call('/metrics');
    expect(metrics.body).toMatch(/http_requests_total\{method="POST",route="\/items",status="201"\} 1/);
    expect(metrics.body).toMatch(/process_cpu_seconds_total/);
  });

  it("the image's test stage passes `npm test` against the postgres and redis sidecars, none skipped", async () => {
    const testTag = await stack.build('test');
    const { code, log } = await stack.runOnce({ Image: testTag, Env: [`DATABASE_URL=${DATABASE_URL}`, `REDIS_URL=${REDIS_URL}`] }, 90_000);
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(log)?.[1] ?? NaN);
    expect(code, log.slice(-2000)).toBe(0);
    expect(count('fail')).toBe(0);
    expect(count('skipped')).toBe(0); // the database and cache tests ran
    expect(count('pass')).toBeGreaterThanOrEqual(50);
    expect(count('pass')).toBe(count('tests'));
  });

  it('/health is 503 with `cache` in error while Redis is stopped, and ok again once it is back', async () => {
    await redis.stop({ t: 2 });
    const down = await poll('/health 503', async () => {
      const r = await call('/health');
      return r.status === 503 ? r : undefined;
    }, { timeoutMs: 10_000 });
    expect(down.body.status).toBe('degraded');
    expect(down.body.database).toBe('ok');
    expect(down.body.cache).not.toBe('ok');
    expect(typeof down.body.cache).toBe('string');
    expect(down.ms).toBeLessThan(1500); // a down dependency answers fast, it does not hang
    // Item requests still work without the cache.
    expect((await call('/items')).status).toBe(200);

    await redis.start();
    const up = await poll('/health 200 again', async () => {
      const r = await call('/health');
      return r.status === 200 ? r : undefined;
    }, { timeoutMs: 30_000 });
    expect(up.body).toMatchObject({ status: 'ok', database: 'ok', cache: 'ok' });
  });

  it("the image's HEALTHCHECK reports the container healthy", async () => {
    // Interval 10 s, start period 10 s: by now the first probes have run.
    await poll('docker health "healthy"', async () => ((await healthStatus(app)) === 'healthy' ? true : undefined), { timeoutMs: 40_000, intervalMs: 500 });
  });

  it('SIGTERM mid-burst: every request the app accepted completes 2xx, later ones are refused, exit 0', async () => {
    const TOTAL = 200;
    const WORKERS = 20;
    const SIGNAL_AFTER = 60; // completed requests before SIGTERM
    const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS });
    type Outcome = { id: string; startedAfterSignal: boolean; status?: number; error?: string };
    const outcomes: Outcome[] = [];
    let next = 0;
    let done = 0;
    let signalled = false;
    let signal: Promise<unknown> | undefined;

    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        const id = `burst-${i}`;
        const o: Outcome = { id, startedAfterSignal: signalled };
        try {
          const r = i % 4 === 0
            ? await call('/items', { method: 'POST', json: { name: `burst ${i}` }, id, agent })
            : await call('/items', { id, agent });
          o.status = r.status;
        } catch (err) {
          o.error = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        }
        outcomes.push(o);
        if (++done === SIGNAL_AFTER) {
          signalled = true;
          signal = app.kill({ signal: 'SIGTERM' });
        }
      }
    };
    const t0 = Date.now();
    await Promise.all(Array.from({ length: WORKERS }, worker));
    await signal;
    agent.destroy();
    const exitCode = await waitExit(app, 20_000);
    const burstMs = Date.now() - t0;

    // The app logs one line per request it handled ("request", or "request aborted" if it could
    // not finish): that is the record of what it accepted.
    const lines = (await logsOf(app))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
    const served = new Map(lines.filter((l) => l.msg === 'request' && String(l.id).startsWith('burst-')).map((l) => [l.id as string, l.status as number]));
    const aborted = lines.filter((l) => l.msg === 'request aborted');
    const started = lines.find((l) => l.msg === 'shutdown started');

    const ok = outcomes.filter((o) => o.status !== undefined && o.status >= 200 && o.status < 300);
    const badStatus = outcomes.filter((o) => o.status !== undefined && (o.status < 200 || o.status >= 300));
    const noResponse = outcomes.filter((o) => o.status === undefined);
    const acceptedButFailed = noResponse.filter((o) => served.has(o.id));
    const summary = {
      total: outcomes.length,
      ok: ok.length,
      badStatus: badStatus.length,
      refused: noResponse.length,
      refusedStartedBeforeSignal: noResponse.filter((o) => !o.startedAfterSignal).length,
      inFlightAtSignal: started?.inFlight,
      acceptedByApp: served.size,
      exitCode,
      burstMs,
    };
    console.log(`example-app SIGTERM burst: ${JSON.stringify(summary)}`);

    expect(outcomes).toHaveLength(TOTAL);
    expect(exitCode).toBe(0);
    expect(started, 'the app logged "shutdown started"').toBeDefined();
    expect(started!.inFlight, 'requests were in flight when SIGTERM arrived').toBeGreaterThan(0);
    expect(lines.some((l) => l.msg === 'shutdown complete')).toBe(true);
    expect(aborted).toEqual([]);
    expect(badStatus).toEqual([]); // no 5xx (or anything else) on any answered request
    expect(acceptedButFailed).toEqual([]); // accepted => answered
    // The same from the client's side, independent of the app's own log: every request sent
    // before SIGTERM was (they were all in flight or queued on open connections) got its 2xx.
    expect(noResponse.filter((o) => !o.startedAfterSignal)).toEqual([]);
    for (const o of ok) expect(served.get(o.id), o.id).toBe(o.status); // client and app agree
    expect(served.size).toBe(ok.length);
    expect(ok.length).toBeGreaterThanOrEqual(SIGNAL_AFTER);
    expect(noResponse.length, 'requests after the listener closed are refused').toBeGreaterThan(0);
  }, 60_000);
});
