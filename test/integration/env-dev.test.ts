// The dev stack for real: the root compose.yaml (what a bare `docker compose up` reads) with a
// unique project, the app serving /health with database and cache ok, live reload from the
// bind-mounted source, and `down` leaving nothing (volumes only when asked).
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComposeStack } from '../../src/compose/stack.ts';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from '../helpers/paths.ts';
import { getJson, leftovers, pier, testRun } from './env-helpers.ts';
import { poll } from '../../src/util/poll.ts';

// The source is copied so the live-reload edit never touches examples/api itself.
const work = mkdtempSync(join(tmpdir(), 'pier-env-dev-'));
cpSync(join(repoRoot, 'examples/api/src'), join(work, 'src'), { recursive: true });
cpSync(join(repoRoot, 'examples/api/migrations'), join(work, 'migrations'), { recursive: true });

const run = testRun('dev', { API_PORT: '', PIER_API_SRC: join(work, 'src'), PIER_API_MIGRATIONS: join(work, 'migrations') });
// Exactly what `docker compose up` in the repo root reads: compose.yaml and the root .env.
const stack = new ComposeStack({ project: run.project, files: [join(repoRoot, 'compose.yaml')], envFiles: [] }, { env: run.env, cwd: repoRoot });
let api = '';
let upSeconds = 0;

beforeAll(async () => {
  const r = await stack.up({ timeoutMs: 180_000 });
  upSeconds = r.seconds;
  api = await stack.port('api', 3000);
}, 240_000);

afterAll(async () => {
  await stack.down({ volumes: true }).catch(() => {});
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('dev stack (docker compose up in the repo root)', () => {
  it('comes up healthy: api, postgres, redis; only 127.0.0.1 ports', async () => {
    const states = await stack.status();
    expect(states.map((s) => [s.service, s.state, s.health])).toEqual([
      ['api', 'running', 'healthy'],
      ['postgres', 'running', 'healthy'],
      ['redis', 'running', 'healthy'],
    ]);
    expect(states.find((s) => s.service === 'api')!.ports).toMatch(/^127\.0\.0\.1:\d+->3000\/tcp$/);
    expect(upSeconds).toBeGreaterThan(0);
    expect(api).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('/health through 127.0.0.1 reports database and cache ok; migrations ran before serving', async () => {
    const h = await getJson(api, '/health');
    expect(h).toEqual({ status: 200, body: { status: 'ok', version: 'dev', database: 'ok', cache: 'ok' } });
    expect((await getJson(api, '/items')).status).toBe(200);
    const applied = await stack.compose(['exec', '-T', 'postgres', 'psql', '-U', 'api', '-d', 'api', '-tAc', 'SELECT count(*) FROM schema_migrations']);
    expect(Number(applied.stdout.trim())).toBeGreaterThanOrEqual(2);
  });

  it('labels its containers, network and named volumes with the run', async () => {
    const left = await leftovers(run.runId);
    expect(left.containers).toHaveLength(3);
    expect(left.networks).toEqual([`${run.project}_default`]);
    expect(left.volumes).toEqual([`${run.project}_pgdata`, `${run.project}_redisdata`]);
  });

  it('pier env status dev shows the same project as a table', async () => {
    const r = await pier(['env', 'status', 'dev', '--project', run.project], run.env);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^SERVICE\s+STATE\s+HEALTH\s+PORTS$/);
    expect(r.stdout).toMatch(/^api\s+running\s+healthy\s+127\.0\.0\.1:\d+->3000\/tcp$/m);
  });

  it('editing a source file makes the app serve the change without a restart by hand', async () => {
    const container = (await stack.status()).find((s) => s.service === 'api')!.container;
    const inspect = async () => (await exec(['docker', 'inspect', '--format', '{{.State.StartedAt}} {{.RestartCount}}', container])).stdout.trim();
    const before = await inspect();
    const server = join(work, 'src', 'server.js');
    const original = readFileSync(server, 'utf8');
    const served = (marker: string) =>
      poll(`api serving ${marker}`, async () => {
        const h = await getJson(api, '/health');
        return h.body.version === marker && h.body.database === 'ok' && h.body.cache === 'ok' ? marker : undefined;
      }, { timeoutMs: 20_000, intervalMs: 500, maxAttempts: 40 }).catch(async (err: Error) => {
        const logs = await stack.compose(['logs', '--no-color', '--tail', '40', 'api'], { nothrow: true });
        throw new Error(`${err.message}\n--- api logs ---\n${logs.stdout}${logs.stderr}`);
      });
    // A statement at the top of server.js's body (it reads the environment after its imports).
    const edit = (marker: string) => `process.env.APP_VERSION = ${JSON.stringify(marker)};\n${original}`;
    // 1. saved the way vim and JetBrains do: write a new file, rename it over the old one.
    writeFileSync(`${server}.tmp`, edit(`reloaded-1-${run.runId}`));
    renameSync(`${server}.tmp`, server);
    expect(await served(`reloaded-1-${run.runId}`)).toBe(`reloaded-1-${run.runId}`);
    // 2. then in place, the way VS Code does (the case a per-inode watch misses after 1.)
    writeFileSync(server, edit(`reloaded-2-${run.runId}`));
    expect(await served(`reloaded-2-${run.runId}`)).toBe(`reloaded-2-${run.runId}`);
    expect(await inspect()).toBe(before); // same container, never restarted: reloaded inside it
  });

  it('down keeps the data volumes unless asked; down --volumes leaves nothing', async () => {
    await stack.down();
    let left = await leftovers(run.runId);
    expect(left.containers).toEqual([]);
    expect(left.networks).toEqual([]);
    expect(left.volumes).toEqual([`${run.project}_pgdata`, `${run.project}_redisdata`]);
    await stack.down({ volumes: true });
    left = await leftovers(run.runId);
    expect(left).toEqual({ containers: [], networks: [], volumes: [] });
  });
});

describe('pier env up: a service that fails', () => {
  it('exits 3 naming the service, its state and its last log lines', async () => {
    // The dev stack has no requiredEnv, so a malformed LOG_LEVEL reaches the app, which exits 2.
    const bad = testRun('devbad', { API_PORT: '', LOG_LEVEL: 'loud' });
    try {
      const r = await pier(['env', 'up', 'dev', '--project', bad.project, '--timeout', '120'], bad.env);
      expect(r.code, r.stderr.slice(-2000)).toBe(3);
      // The watcher outlives the crashed server (a fixed file restarts it), so the container is
      // running and its healthcheck turns it unhealthy.
      expect(r.stderr).toMatch(new RegExp(`service "api" of ${bad.project} is unhealthy\\n--- last 30 log lines of api ---\\n`));
      expect(r.stderr).toContain('LOG_LEVEL');
      const report = /report: (\S+report\.json)/.exec(r.stderr)?.[1];
      expect(report).toBeDefined();
      expect(JSON.parse(readFileSync(report!, 'utf8'))).toMatchObject({ command: 'env up', env: 'dev', project: bad.project, status: 'failed', exitCode: 3 });
      rmSync(join(report!, '..'), { recursive: true, force: true });
    } finally {
      await pier(['env', 'down', 'dev', '--project', bad.project, '--volumes'], bad.env);
    }
    expect(await leftovers(bad.runId)).toEqual({ containers: [], networks: [], volumes: [] });
  }, 150_000);
});
