/**
 * Issue 16 on 2 simulated hosts with the real example app (examples/api): PostgreSQL and Redis are
 * accessories pier boots on web1 (bound to web1's private address); web runs on web1 behind its
 * proxy; the queue worker (src/worker.js) on web1 and on web2, a worker-only host (no proxy, no
 * HTTP check). Deploy and rollback under load: zero failed web requests, and every job taken from
 * Redis recorded exactly once in PostgreSQL across two worker replacements. A worker that never
 * becomes healthy rolls web back too. Deploys never restart an accessory; pier db backup and
 * restore work against it; `pier accessory logs|stop|reboot` on the Redis accessory at the end.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.ts';
import { Progress } from '../../src/deploy/progress.ts';
import { rollback } from '../../src/deploy/rollback.ts';
import { exec } from '../../src/util/exec.ts';
import { sleep } from '../../src/util/poll.ts';
import { deployTarget, images, writeProject, type Fleet } from '../helpers/fleet.ts';
import { get } from '../helpers/http.ts';
import { startLoad } from '../helpers/load.ts';
import { repoRoot } from '../helpers/paths.ts';
import { runPier } from '../helpers/pier.ts';
import { useFleet } from '../helpers/use-fleet.ts';

const APP = 'example-api';
let fleet: Fleet;
let config: string;
let envYaml: string;
let web1Ip: string;
const quiet = () => new Progress(() => undefined);
const pier = (...args: string[]) => runPier([...args, '--config', config], { cwd: dirname(config), timeoutMs: 180_000 });
const onWeb1 = (...argv: string[]) => fleet.hostExec('web1', argv);
const psql = async (sql: string) => (await onWeb1('docker', 'exec', `${APP}-db`, 'psql', '-U', 'api', '-d', 'api', '-tAc', sql)).trim();
const redis = async (...args: string[]) => (await onWeb1('docker', 'exec', `${APP}-redis`, 'redis-cli', ...args)).trim();
const dbState = async () => (await onWeb1('docker', 'inspect', '--format', '{{.Id}} {{.State.StartedAt}}', `${APP}-db`)).trim();

/** Push job ids `from`..`to` onto the queue (one redis-cli call). */
const enqueue = (from: number, to: number) => redis('LPUSH', 'jobs', ...Array.from({ length: to - from + 1 }, (_, i) => `job-${from + i}`));

/** Rewrite the worker role's env in environments/production.yaml. */
function setWorkerEnv(env: Record<string, string>): void {
  const doc = parse(readFileSync(envYaml, 'utf8'));
  doc.roles.worker.env = env;
  writeFileSync(envYaml, stringify(doc));
}

const build = () =>
  exec([
    'docker', 'buildx', 'build', '--load', '--quiet', '--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt',
    '--build-arg', `NODE_IMAGE=${images.node}`, '--target', 'runtime', '-t', 'pier-test/example-api:roles', join(repoRoot, 'examples/api'),
  ]);

useFleet({ count: 2, alongside: () => [build()] }, async (f) => {
  fleet = f;
  await Promise.all([
    fleet.push(images.postgres, 'pier-test/postgres:acc'),
    fleet.push(images.redis, 'pier-test/redis:acc'),
    (async () => {
      for (const v of ['1.0.0', '1.0.1', '1.0.2']) await fleet.push('pier-test/example-api:roles', `pier-test/example-api:${v}`);
    })(),
  ]);
  web1Ip = (await exec(['docker', 'inspect', '--format', `{{(index .NetworkSettings.Networks "${fleet.network}").IPAddress}}`, fleet.hosts[0]!.container])).stdout.trim();
  config = writeProject(fleet, {
    app: APP,
    image: 'pier-test/example-api',
    migrate: ['node', 'src/migrate.js'],
    healthTimeoutSeconds: 40,
    env: { DATABASE_URL: `postgres://api:acc-db-pass@${web1Ip}:5432/api`, REDIS_URL: `redis://${web1Ip}:6379`, LOG_LEVEL: 'warn', DB_CONNECT_TIMEOUT_MS: '3000' },
    environment: {
      roles: {
        web: { hosts: ['web1'] },
        worker: { hosts: ['web1', 'web2'], command: ['node', 'src/worker.js'], env: { JOB_MS: '20', LOG_LEVEL: 'info' }, stopSignal: 'SIGTERM', drainSeconds: 20, health: { command: ['node', 'src/worker-health.js'], timeoutSeconds: 20 } },
      },
      accessories: {
        db: { host: 'web1', image: 'reg:5000/pier-test/postgres:acc', port: 5432, bind: web1Ip, volumes: ['pgdata:/var/lib/postgresql/data'], env: { POSTGRES_USER: 'api', POSTGRES_PASSWORD: 'acc-db-pass', POSTGRES_DB: 'api' }, health: { command: ['pg_isready', '-U', 'api', '-d', 'api', '-h', '127.0.0.1'], timeoutSeconds: 60 } },
        redis: { host: 'web1', image: 'reg:5000/pier-test/redis:acc', port: 6379, bind: web1Ip, health: { command: ['redis-cli', 'ping'], timeoutSeconds: 30 } },
      },
      backup: { via: 'ssh', accessory: 'db', database: 'api', user: 'api', beforeMigrate: false },
    },
  });
  envYaml = join(dirname(config), 'environments', 'production.yaml');
});

describe.sequential('roles and accessories on the simulated fleet', () => {
  let dbBefore = '';

  it('pier accessory boot: PostgreSQL and Redis on web1, bound to its private address only, healthy; boot again changes nothing', async () => {
    const r = await pier('accessory', 'boot', 'production');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^db\s+web1\s+✓ running \(booted\) healthy/m);
    expect(r.stdout).toMatch(/^redis\s+web1\s+✓ running \(booted\) healthy/m);
    expect((await onWeb1('docker', 'port', `${APP}-db`)).trim()).toBe(`5432/tcp -> ${web1Ip}:5432`);
    expect(r.stdout + r.stderr).not.toContain('acc-db-pass');
    // Its env file was only on the host while docker created the container.
    expect((await onWeb1('sh', '-c', `ls /var/lib/pier/${APP}/accessories/db/ 2>/dev/null | wc -l`)).trim()).toBe('0');
    dbBefore = await dbState();
    const again = await pier('accessory', 'boot', 'production', 'db');
    expect(again.stdout).toMatch(/already running/);
    expect(await dbState()).toBe(dbBefore);
    const st = await pier('accessory', 'status', 'production');
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/^db\s+web1\s+✓ running healthy since/m);
  }, 240_000);

  it('first deploy: web on web1, the worker on web1 and on web2 (no proxy there, no HTTP check)', async () => {
    const r = await deploy(deployTarget(config), { version: '1.0.0', progress: quiet() });
    expect(r.ok, `${r.error}\n${r.logs ?? ''}`).toBe(true);
    expect(r.hosts.map((h) => `${h.host}:${h.status}`)).toEqual(['web1:deployed']);
    expect(r.roles?.map((x) => `${x.host}/${x.role}:${x.status}`)).toEqual(['web1/worker:deployed', 'web2/worker:deployed']);
    expect(r.timeline.filter((e) => e.host === 'web2').map((e) => e.phase)).not.toContain('baking');
    expect((await fleet.hostExec('web2', ['docker', 'ps', '--format', '{{.Names}}'])).trim().split('\n')).toEqual([expect.stringMatching(/^example-api-worker-1\.0\.0-[0-9a-f]{6}$/)]);
    expect(await (await get(`http://127.0.0.1:${fleet.lbPort}/health`)).json()).toMatchObject({ status: 'ok', version: '1.0.0', database: 'ok', cache: 'ok' });
    expect(await dbState()).toBe(dbBefore);
  }, 240_000);

  it('deploy and rollback under load: zero failed web requests, every job recorded exactly once across two worker replacements', async () => {
    let next = 1;
    await enqueue(next, 600);
    next = 601;
    // A producer beside the deploys: 20 jobs every 500 ms (bounded: stops with the deploys, 400 rounds at most).
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing && i < 400; i++) {
        await enqueue(next, next + 19);
        next += 20;
        await sleep(500);
      }
    })();
    // Warm the web's database pool first (idle since the last test): not counted.
    const warm = startLoad(fleet.lbPort, 30, { path: '/items' });
    await sleep(5000);
    await warm.stop();
    const load = startLoad(fleet.lbPort, 30, { path: '/items' });
    const t0 = Date.now();
    const d = await deploy(deployTarget(config), { version: '1.0.1', progress: quiet() });
    const deploySeconds = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    const rb = await rollback(deployTarget(config), { progress: quiet() });
    const rollbackSeconds = (Date.now() - t1) / 1000;
    producing = false;
    await producer;
    const l = await load.stop();
    if (l.failed) {
      // What the app said about the failed requests (their times against the deploy and rollback).
      const deployEnd = t0 + deploySeconds * 1000;
      console.log(JSON.stringify({ failed: l.failed, duringDeploy: l.failedSentAt.filter((t) => t <= deployEnd).length, duringRollback: l.failedSentAt.filter((t) => t > deployEnd).length, firstAt: (l.failedSentAt[0]! - t0) / 1000, lastAt: (l.failedSentAt.at(-1)! - t0) / 1000 }));
      const webs = (await onWeb1('docker', 'ps', '-a', '--filter', `label=pier.app=${APP}`, '--format', '{{.Names}} {{.Label "pier.role"}}')).split('\n').filter((x) => x && !x.includes('worker')).map((x) => x.split(' ')[0]!);
      for (const w of webs) console.log(w, (await onWeb1('docker', 'logs', '--tail', '8', w)).slice(-2000));
    }
    expect(d.ok, `${d.error}\n${d.logs ?? ''}`).toBe(true);
    expect(rb.ok, JSON.stringify(rb.hosts)).toBe(true);
    expect(rb.version).toBe('1.0.0');
    expect(rb.roles?.map((x) => `${x.host}/${x.role}:${x.from}->${x.to}`)).toEqual(['web1/worker:1.0.1->1.0.0', 'web2/worker:1.0.1->1.0.0']);
    const total = next - 1;
    // The queue and every processing list drain (bounded wait), then the database is counted.
    for (let i = 0; i < 240; i++) {
      const left = Number(await redis('LLEN', 'jobs')) + (await redis('--scan', '--pattern', 'jobs:processing:*')).split('\n').filter(Boolean).length;
      if (left === 0) break;
      await sleep(500);
    }
    expect(await redis('LLEN', 'jobs')).toBe('0');
    const [rows, distinct] = (await psql('SELECT count(*), count(DISTINCT job_id) FROM jobs_done')).split('|').map(Number);
    console.log(JSON.stringify({ roles_jobs: total, rows, distinct, requests: l.sent, failed: l.failures.length, deploySeconds, rollbackSeconds }));
    expect(distinct).toBe(total);
    expect(rows).toBe(total);
    // Both worker versions did jobs, and each replaced worker drained (SIGTERM, exit 0) before it stopped.
    expect((await psql('SELECT string_agg(DISTINCT version, \',\' ORDER BY version) FROM jobs_done')).split(',')).toEqual(['1.0.0', '1.0.1']);
    const stopped = (await fleet.hostExec('web2', ['docker', 'ps', '-a', '--filter', 'label=pier.role=worker', '--filter', 'status=exited', '--format', '{{.Names}}'])).trim().split('\n');
    for (const c of stopped) {
      expect((await fleet.hostExec('web2', ['docker', 'inspect', '--format', '{{.State.ExitCode}}', c])).trim()).toBe('0');
      expect(await fleet.hostExec('web2', ['docker', 'logs', c])).toMatch(/"msg":"drained"/);
    }
    // Deploys and rollbacks never restarted the accessory.
    expect(await dbState()).toBe(dbBefore);
    expect(l.sent).toBeGreaterThan(100);
    expect(l.failures).toEqual([]);
  }, 300_000);

  it('a worker that never becomes healthy rolls web back too', async () => {
    setWorkerEnv({ JOB_MS: '20', LOG_LEVEL: 'info', WORKER_FAIL_HEALTH: '1' });
    try {
      const r = await deploy(deployTarget(config), { version: '1.0.2', progress: quiet() });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/worker 1\.0\.2 .* did not become healthy within 20s/);
      expect(r.hosts.map((h) => `${h.host}:${h.status}:${h.serving}`)).toEqual(['web1:rolled-back:1.0.0']);
      expect(r.roles?.map((x) => x.serving)).toEqual(['1.0.0', '1.0.0']);
      expect(await (await get(`http://127.0.0.1:${fleet.lbPort}/version`)).json()).toMatchObject({ version: '1.0.0' });
      for (const h of ['web1', 'web2']) expect(await fleet.hostExec(h, ['docker', 'ps', '-a', '--filter', 'label=pier.release=1.0.2', '--format', '{{.Names}}'])).toBe('');
    } finally {
      setWorkerEnv({ JOB_MS: '20', LOG_LEVEL: 'info' });
    }
    const st = await pier('status', 'production');
    expect(st.code, st.stdout + st.stderr).toBe(0);
    expect(st.stdout).toMatch(/^web2: \(no web role\)\n {2}worker: 1\.0\.0 healthy/m);
    expect(await dbState()).toBe(dbBefore);
  }, 240_000);

  it('pier db backup and restore against the accessory PostgreSQL', async () => {
    const before = await psql('SELECT count(*) FROM jobs_done');
    const b = await pier('db', 'backup', 'production', '--json');
    expect(b.code, b.stderr).toBe(0);
    const file = JSON.parse(b.stdout).file as string;
    await psql("INSERT INTO jobs_done (job_id, worker, version) VALUES ('after-backup', 'test', 'x')");
    const r = await pier('db', 'restore', 'production', file);
    expect(r.code, r.stderr).toBe(0);
    expect(await psql('SELECT count(*) FROM jobs_done')).toBe(before);
    expect(await dbState()).toBe(dbBefore);
  }, 240_000);

  it('pier accessory logs, stop and reboot (Redis): its log lines; stopped shows not running; rebooted is a new container, healthy again', async () => {
    const logs = await pier('accessory', 'logs', 'production', 'redis', '--lines', '5');
    expect(logs.code, logs.stderr).toBe(0);
    const [head, ...body] = logs.stdout.trimEnd().split('\n');
    expect(head).toBe('== redis on web1 ==');
    expect(body.length).toBeGreaterThan(0);
    expect(body.length).toBeLessThanOrEqual(5);
    // The container's own last lines (a few more, in case Redis logged one since).
    const own = (await onWeb1('sh', '-c', `docker logs --tail 20 ${APP}-redis 2>&1`)).split('\n');
    for (const l of body) expect(own).toContain(l);
    const statusJson = async () => JSON.parse((await pier('accessory', 'status', 'production', 'redis', '--json')).stdout)[0] as { id: string; state: string; health?: string };
    const before = await statusJson();
    expect(before).toMatchObject({ state: 'running', health: 'healthy' });
    const stop = await pier('accessory', 'stop', 'production', 'redis');
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/^redis\s+web1\s+✓ exited \(stopped\)/m);
    const st = await pier('accessory', 'status', 'production', 'redis');
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/^redis\s+web1\s+✗ exited/m);
    expect(st.stdout).not.toMatch(/healthy/);
    const reboot = await pier('accessory', 'reboot', 'production', 'redis');
    expect(reboot.code, reboot.stderr).toBe(0);
    expect(reboot.stdout).toMatch(/^redis\s+web1\s+✓ running \(recreated\) healthy since/m);
    const after = await statusJson();
    expect(after).toMatchObject({ state: 'running', health: 'healthy' });
    expect(after.id).toMatch(/^[0-9a-f]{12,}$/);
    expect(after.id).not.toBe(before.id);
    expect(await redis('PING')).toBe('PONG');
    // The database accessory was left alone.
    expect(await dbState()).toBe(dbBefore);
  }, 240_000);
});
