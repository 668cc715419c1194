// Staging for real, through the CLI (`pier env up|status|down staging`): env-file validation that
// fails before any container starts, the production image built when absent, /health through
// nginx (the only published port), Prometheus scraping the app with the SLO rules loaded and
// checked by promtool, and `down` leaving nothing (volumes only when asked).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpolationVars } from '../../src/config/load.ts';
import { ComposeStack } from '../../src/compose/stack.ts';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from '../helpers/paths.ts';
import { getJson, leftovers, pier, testRun } from './env-helpers.ts';
import { poll } from '../../src/util/poll.ts';

const run = testRun('stg');
const work = mkdtempSync(join(tmpdir(), 'pier-env-staging-'));
// A tag nobody has, so `up` must build the production image (runtime target) itself.
const appImage = `pier/example-api:envtest-${run.runId.toLowerCase()}`;
const password = randomBytes(18).toString('base64url');
const goodEnv = join(work, 'staging.env');
writeFileSync(goodEnv, ['POSTGRES_USER=api', `POSTGRES_PASSWORD=${password}`, 'POSTGRES_DB=api', 'LOG_LEVEL=info', `PIER_APP_IMAGE=${appImage}`, 'STAGING_HTTP_PORT=', ''].join('\n'));
const common = ['--project', run.project, '--env-file', goodEnv];
const vars = interpolationVars(repoRoot);
const stack = new ComposeStack(
  { project: run.project, files: [join(repoRoot, 'compose/staging.yaml')], envFiles: [join(repoRoot, '.env'), goodEnv] },
  { env: run.env, cwd: repoRoot },
);
let up: { code: number; stdout: string; stderr: string };
let nginx = '';

beforeAll(async () => {
  up = await pier(['env', 'up', 'staging', ...common, '--json', '--timeout', '180'], run.env, 280_000);
  if (up.code === 0) nginx = await stack.port('nginx', 80);
}, 300_000);

afterAll(async () => {
  await stack.down({ volumes: true }).catch(() => {});
  await exec(['docker', 'image', 'rm', '-f', appImage], { nothrow: true });
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('staging stack (pier env up staging)', () => {
  it('comes up with every service healthy, having built the absent production image', () => {
    expect(up.stderr).not.toContain(password);
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(up.stdout) as { runId: string; status: string; built: string[]; seconds: number; services: { service: string; state: string; health: string; ports: string }[] };
    expect(report.status).toBe('healthy');
    const written = readFileSync(join(repoRoot, '.pier/runs', report.runId, 'report.json'), 'utf8');
    rmSync(join(repoRoot, '.pier/runs', report.runId), { recursive: true, force: true });
    expect(JSON.parse(written)).toEqual(report);
    expect(written).not.toContain(password);
    expect(report.built).toEqual([appImage]);
    expect(report.seconds).toBeGreaterThan(0);
    expect(report.services.map((s) => [s.service, s.state, s.health])).toEqual([
      ['app', 'running', 'healthy'],
      ['nginx', 'running', 'healthy'],
      ['postgres', 'running', 'healthy'],
      ['prometheus', 'running', 'healthy'],
      ['redis', 'running', 'healthy'],
    ]);
    // nginx is the only published port, on 127.0.0.1
    expect(report.services.filter((s) => s.ports).map((s) => [s.service, s.ports.replace(/:\d+->/, ':N->')])).toEqual([['nginx', '127.0.0.1:N->80/tcp']]);
  });

  it('/health through nginx reports database and cache ok; /metrics is not served outside', async () => {
    expect(await getJson(nginx, '/health')).toEqual({ status: 200, body: { status: 'ok', version: 'staging', database: 'ok', cache: 'ok' } });
    expect((await getJson(nginx, '/items')).status).toBe(200);
    expect((await getJson(nginx, '/metrics')).status).toBe(404);
  });

  it('runs the production image (not a dev build), as the unprivileged user', async () => {
    const app = (await stack.status()).find((s) => s.service === 'app')!.container;
    const [image, user, cmd] = (await exec(['docker', 'inspect', '--format', '{{.Config.Image}}|{{.Config.User}}|{{json .Config.Cmd}}', app])).stdout.trim().split('|');
    expect(image).toBe(appImage);
    expect(user).toBe('node');
    expect(cmd).toBe('["node","src/server.js"]');
  });

  it('Prometheus scrapes the app and has the SLO alert rules loaded', async () => {
    const up = await poll('prometheus scraping api', async () => {
      const r = await stack.compose(['exec', '-T', 'prometheus', 'promtool', 'query', 'instant', 'http://127.0.0.1:9090', 'up{job="api"}'], { nothrow: true });
      return /instance="app:3000".*=> 1 @/.test(r.stdout) ? r.stdout : undefined;
    }, { timeoutMs: 20_000, intervalMs: 1000, maxAttempts: 20 });
    expect(up).toContain('job="api"');
    const requests = await stack.compose(['exec', '-T', 'prometheus', 'promtool', 'query', 'instant', 'http://127.0.0.1:9090', 'sum(http_requests_total{job="api"}) > 0']);
    expect(requests.stdout).toMatch(/=> \d+/);
    // The rules API, asked from a container on the stack's network (Prometheus is not published).
    // Health turns from "unknown" to "ok" at the first evaluation (evaluation_interval 15 s).
    const rules = await poll('alert rules evaluated', async () => {
      const r = await stack.compose(['exec', '-T', 'app', 'node', '-e', "fetch('http://prometheus:9090/api/v1/rules').then(r=>r.json()).then(j=>console.log(JSON.stringify(j.data.groups.flatMap(g=>g.rules.map(r=>[r.name,r.duration,r.health])))))"]);
      const list = JSON.parse(r.stdout) as [string, number, string][];
      return list.length && list.every(([, , health]) => health !== 'unknown') ? list : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1000, maxAttempts: 30 });
    expect(rules).toEqual([
      ['ApiHighErrorRate', 120, 'ok'],
      ['ApiHighLatencyP95', 300, 'ok'],
      ['ApiAvailabilityLow', 60, 'ok'],
    ]);
  });

  it('pier env status staging prints the table; pier env logs shows the app', async () => {
    const status = await pier(['env', 'status', 'staging', '--project', run.project], run.env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^nginx\s+running\s+healthy\s+127\.0\.0\.1:\d+->80\/tcp$/m);
    expect(status.stdout.trim().split('\n')).toHaveLength(6);
    const logs = await pier(['env', 'logs', 'staging', 'app', '--project', run.project, '--tail', '50'], run.env);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/"msg":"listening"|"route":"\/health"/);
    expect(logs.stdout).not.toContain(password);
  });

  it('down keeps data volumes unless asked; down --volumes leaves no container, network or volume', async () => {
    const down = await pier(['env', 'down', 'staging', '--project', run.project], run.env);
    expect(down.code, down.stderr).toBe(0);
    let left = await leftovers(run.runId);
    expect(left.containers).toEqual([]);
    expect(left.networks).toEqual([]);
    expect(left.volumes).toEqual(['pgdata', 'promdata', 'redisdata'].map((v) => `${run.project}_${v}`));
    const downV = await pier(['env', 'down', 'staging', '--project', run.project, '--volumes'], run.env);
    expect(downV.code, downV.stderr).toBe(0);
    left = await leftovers(run.runId);
    expect(left).toEqual({ containers: [], networks: [], volumes: [] });
  });
});

describe('staging env validation', () => {
  it('a broken env value fails with exit 2, naming file, line and variable, before any container starts', async () => {
    const bad = join(work, 'bad.env');
    writeFileSync(bad, ['POSTGRES_USER=api', 'POSTGRES_PASSWORD=too-short', 'LOG_LEVEL=loud', 'POSTGRES_DB=api', ''].join('\n'));
    const badRun = testRun('stgbad');
    const r = await pier(['env', 'up', 'staging', '--project', badRun.project, '--env-file', bad], badRun.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2:1: POSTGRES_PASSWORD: invalid value (not shown, 9 characters): expected a value matching /^(?:[A-Za-z0-9._~-]{16,})$/`);
    expect(r.stderr).toContain(`${bad}:3:1: LOG_LEVEL: invalid value (not shown, 4 characters): expected a value matching /^(?:debug|info|warn|error|silent)$/`);
    expect(r.stderr).not.toContain('too-short');
    expect(await leftovers(badRun.runId)).toEqual({ containers: [], networks: [], volumes: [] });
    expect((await exec(['docker', 'ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${badRun.project}`])).stdout.trim()).toBe('');
  });

  it('a crash-looping app fails `up` at once, naming the service with its last log lines (exit 3)', async () => {
    // FAIL_RATE is not in requiredEnv: the app itself rejects it at start and exits 2, over and over.
    const crash = testRun('stgcrash');
    const envFile = join(work, 'crash.env');
    writeFileSync(envFile, [`POSTGRES_PASSWORD=${password}`, 'LOG_LEVEL=info', 'POSTGRES_USER=api', 'POSTGRES_DB=api', `PIER_APP_IMAGE=${appImage}`, 'STAGING_HTTP_PORT=', 'FAIL_RATE=lots', ''].join('\n'));
    try {
      const started = Date.now();
      const r = await pier(['env', 'up', 'staging', '--project', crash.project, '--env-file', envFile, '--timeout', '120'], crash.env);
      expect(r.code, r.stderr.slice(-2000)).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`service "app" of ${crash.project} (is crash-looping \\(exits and is restarted\\)|exited with code 2|did not become healthy \\(.*\\); compose: .*app-1 (is unhealthy|exited \\(2\\)))\n--- last 30 log lines of app ---\n`));
      expect(r.stderr).toContain('FAIL_RATE');
      expect(r.stderr).not.toContain(password);
      const path = /report: (\S+report\.json)/.exec(r.stderr)?.[1];
      expect(path).toBeDefined();
      const report = JSON.parse(readFileSync(path!, 'utf8')) as { status: string; exitCode: number; error: string };
      rmSync(join(path!, '..'), { recursive: true, force: true });
      expect(report).toMatchObject({ status: 'failed', exitCode: 3 });
      expect(report.error).toMatch(/^service "app" of /);
      expect(Date.now() - started).toBeLessThan(60_000); // long before the 120 s timeout
    } finally {
      await pier(['env', 'down', 'staging', '--project', crash.project, '--volumes'], crash.env);
    }
    expect(await leftovers(crash.runId)).toEqual({ containers: [], networks: [], volumes: [] });
  }, 150_000);

  it('promtool checks the alert rules and their unit tests (inside the Prometheus image)', async () => {
    const image = vars.PIER_PROMETHEUS_IMAGE ?? 'prom/prometheus:v2.54.1';
    const promtool = (...args: string[]) =>
      exec(['docker', 'run', '--rm', '--label', `pier.run=${run.runId}`, '--network', 'none', '-v', `${join(repoRoot, 'compose/staging')}:/rules:ro`, '-w', '/rules', '--entrypoint', 'promtool', image, ...args], { nothrow: true });
    const check = await promtool('check', 'rules', 'alerts.yml');
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS: 3 rules found');
    const unit = await promtool('test', 'rules', 'alerts.test.yml');
    expect(unit.code, unit.stdout + unit.stderr).toBe(0);
    expect(unit.stdout).toContain('SUCCESS');
    const config = await exec(['docker', 'run', '--rm', '--label', `pier.run=${run.runId}`, '--network', 'none', '-v', `${join(repoRoot, 'compose/staging/alerts.yml')}:/etc/prometheus/rules/alerts.yml:ro`, '-v', `${join(repoRoot, 'compose/staging/prometheus.yml')}:/etc/prometheus/prometheus.yml:ro`, '--entrypoint', 'promtool', image, 'check', 'config', '/etc/prometheus/prometheus.yml'], { nothrow: true });
    expect(config.code, config.stdout + config.stderr).toBe(0);
  });
});
