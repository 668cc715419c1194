/**
 * The release flow on simulated hosts: one staging host (web1) and three production hosts
 * (web2-4), each environment behind its own front load balancer on a 127.0.0.1 port this file
 * publishes. Checks and smoke tests are node:test suites run against BASE_URL; the guard runs the
 * seeds' default rules on a clock 15x faster than the wall clock (10 minutes of rule time in 40 s).
 * The last test runs `pier release` as a user does, without --version: its own `pier ci` builds
 * the test app and publishes it to the fleet's registry, and the digest in that run's report is
 * what reaches staging and production.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { scaledClock } from '../../src/analysis/clock.ts';
import { loadConfig } from '../../src/config/load.ts';
import { deploy } from '../../src/deploy/deploy.ts';
import { renderLoadBalancerConf } from '../../src/deploy/commands/nginx.ts';
import { Progress } from '../../src/deploy/progress.ts';
import { status } from '../../src/deploy/queries.ts';
import { resolveTarget, type DeployTarget } from '../../src/deploy/target.ts';
import { fleetEnvironment } from '../../src/dev-hosts/environment.ts';
import { release } from '../../src/release/release.ts';
import type { GuardReport } from '../../src/release/guard.ts';
import type { EnvChecksReport } from '../../src/release/env-checks.ts';
import { exec } from '../../src/util/exec.ts';
import { poll } from '../../src/util/poll.ts';
import { runLabels } from '../../src/util/run-id.ts';
import { baseImage, buildTestApp, images, type Fleet } from '../helpers/fleet.ts';
import { repoRoot } from '../helpers/paths.ts';
import type { ReleaseReport } from '../../src/release/report.ts';
import type { RunReport } from '../../src/pipeline/report.ts';
import { startLoad } from '../helpers/load.ts';
import { runPier } from '../helpers/pier.ts';
import { useFleet } from '../helpers/use-fleet.ts';
import { get, statusOf } from '../helpers/http.ts';

let fleet: Fleet;
let root: string;
const lbs: string[] = [];
const lbPort: Record<string, number> = {};
const quiet = () => new Progress(() => undefined);
const SCALE = 15;

/** A front load balancer for some of the fleet's hosts (labelled with the fleet's run: reaped with it). */
async function startLb(name: string, hosts: string[]): Promise<number> {
  const labels = Object.entries(runLabels(fleet.runId, { 'pier.role': 'test-release-lb' })).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const conf = renderLoadBalancerConf({ backends: hosts.map((h) => `${h}:80`) });
  const id = (await exec(['docker', 'run', '--detach', ...labels, '--network', fleet.network, '--publish', '127.0.0.1::80', '--env', `PIER_LB_CONF=${conf}`, '--entrypoint', 'sh', images.nginx, '-c', 'printf "%s" "$PIER_LB_CONF" > /etc/nginx/conf.d/default.conf && exec nginx -g "daemon off;"'])).stdout.trim();
  lbs.push(id);
  const port = Number(/127\.0\.0\.1:(\d+)/.exec((await exec(['docker', 'port', id, '80/tcp'])).stdout)![1]);
  lbPort[name] = port;
  return port;
}

const E2E = `import test from 'node:test';
import assert from 'node:assert/strict';
const base = process.env.BASE_URL;
test('serves the release under test', async () => {
  const r = await fetch(base + '/version');
  assert.equal(r.status, 200);
  assert.equal((await r.json()).version, process.env.PIER_VERSION);
});
test('health through the proxy', async () => assert.equal((await fetch(base + '/health')).status, 200));
test('30 requests all answer 200', async () => {
  const codes = [];
  for (let i = 0; i < 30; i++) codes.push((await fetch(base + '/items/' + i)).status);
  assert.deepEqual(codes.filter((c) => c !== 200), []);
});
`;
const SMOKE = `import test from 'node:test';
import assert from 'node:assert/strict';
test('production answers', async () => assert.equal((await fetch(process.env.BASE_URL + '/health')).status, 200));
`;

function writeProjectFiles(): void {
  root = mkdtempSync(join(fleet.dir, 'release-'));
  mkdirSync(join(root, 'environments'));
  mkdirSync(join(root, 'checks'));
  writeFileSync(join(root, 'checks', 'e2e.test.mjs'), E2E);
  writeFileSync(join(root, 'checks', 'smoke.test.mjs'), SMOKE);
  writeFileSync(join(root, 'pier.yaml'), stringify({ app: { name: 'deploy-app', image: 'pier-test/deploy-app', port: 3000, health: { path: '/health', timeoutSeconds: 30 }, test: { command: ['true'] } } }));
  const env = (hosts: string[], extra: Record<string, unknown>) => {
    const e = fleetEnvironment({ ...fleet, hosts: fleet.hosts.filter((h) => hosts.includes(h.name)) }, { bakeSeconds: 1, drainSeconds: 1 });
    return stringify({ ...e, ...extra, deploy: { ...(e.deploy as object), ...(extra.deploy as object) } });
  };
  writeFileSync(join(root, 'environments', 'staging.yaml'), env(['web1'], {
    url: `http://127.0.0.1:${lbPort.staging}`,
    checks: [{ name: 'e2e', command: [process.execPath, '--test', 'checks/e2e.test.mjs'], timeoutSeconds: 60 }],
  }));
  writeFileSync(join(root, 'environments', 'production.yaml'), env(['web2', 'web3', 'web4'], {
    url: `http://127.0.0.1:${lbPort.production}`,
    smoke: [{ name: 'smoke', command: [process.execPath, '--test', 'checks/smoke.test.mjs'], timeoutSeconds: 60 }],
    // The seeds' rules (the default metrics) for 10 minutes after each deploy.
    deploy: { guard: { window: '10m' } },
  }));
}

const target = (env: string): DeployTarget => resolveTarget(loadConfig({ configFile: join(root, 'pier.yaml'), env, vars: {} }), { by: 'tester@ci' });
const serving = async (env: string) => (await status(target(env))).map((h) => h.serving);

useFleet(
  {
    count: 4,
    alongside: () => [
      buildTestApp('pier-test/deploy-app:good'),
      buildTestApp('pier-test/deploy-app:broken', { failRate: 0.5 }),
      // Fails 10 % of requests from 30 s after its start: about 5 minutes of guard time after the deploy.
      buildTestApp('pier-test/deploy-app:degrades', { failRate: 0.1, failAfterSeconds: 30 }),
    ],
  },
  async (f) => {
    fleet = f;
    await Promise.all([
      fleet.push('pier-test/deploy-app:good', 'pier-test/deploy-app:v1'),
      fleet.push('pier-test/deploy-app:good', 'pier-test/deploy-app:v2'),
      fleet.push('pier-test/deploy-app:broken', 'pier-test/deploy-app:v3'),
      fleet.push('pier-test/deploy-app:degrades', 'pier-test/deploy-app:v4'),
      startLb('staging', ['host1']),
      startLb('production', ['host2', 'host3', 'host4']),
    ]);
    writeProjectFiles();
  },
);

beforeAll(async () => {
  // v1 everywhere first (a plain deploy, no guard), so every proxy exists before load starts.
  for (const env of ['staging', 'production']) {
    const r = await deploy(target(env), { version: 'v1', progress: quiet() });
    expect(r.ok, r.error).toBe(true);
  }
  await poll('production lb', async () => ((await statusOf(`http://127.0.0.1:${lbPort.production}/health`)) === 200 ? true : undefined), { timeoutMs: 20_000, intervalMs: 200 });
}, 180_000);

afterAll(async () => {
  // Before useFleet's own afterAll (hooks run in reverse), which checks nothing labelled is left.
  if (lbs.length) await exec(['docker', 'rm', '--force', ...lbs], { nothrow: true });
});

describe.sequential('pier release: staging on one SSH host, production on three', () => {
  it('a good version passes every step under load with zero failed requests; production runs the digest staging passed', async () => {
    const lines: string[] = [];
    const load = startLoad(lbPort.production!, 80);
    const r = await release(target('staging'), target('production'), { version: 'v2', clock: scaledClock(SCALE), log: (l) => lines.push(l) });
    const l = await load.stop();
    expect(r.ok, `${r.error}\n${lines.join('\n')}`).toBe(true);
    expect(r.exitCode).toBe(0);
    expect(r.steps.map((s) => `${s.name}${s.env ? ` ${s.env}` : ''}:${s.status}`)).toEqual([
      'deploy staging:passed', 'checks staging:passed', 'promotion gate staging:passed', 'deploy production:passed', 'smoke production:passed', 'guard production:passed',
    ]);
    const checks = r.steps[1]!.detail as EnvChecksReport;
    expect(checks.results[0]).toMatchObject({ name: 'e2e', ok: true, runner: 'node:test', counts: { pass: 3, fail: 0 } });
    // Each deploy of the release drew its picture: one lane per host of that environment.
    for (const [step, lanes] of [[0, 1], [3, 3]] as const) {
      const picture = (r.steps[step]!.detail as { timelinePicture: string }).timelinePicture;
      expect(picture).toMatch(/deploy-(staging|production)\.html$/);
      expect(readFileSync(picture, 'utf8').match(/<g class="lane"/g)).toHaveLength(lanes);
    }
    const g = r.steps[5]!.detail as GuardReport;
    expect(g.phase).toBe('successful');
    expect(g.seconds).toBeGreaterThanOrEqual(599); // 10 minutes of rule time
    expect(g.analysis.metrics.map((m) => `${m.name}:${m.phase}`)).toEqual(['error-rate:successful', 'response-time:successful', 'availability:successful']);
    expect(g.analysis.metrics[0]!.measurements).toBeGreaterThan(30);
    // Same bytes on staging and production.
    const [st, prod] = await Promise.all([status(target('staging')), status(target('production'))]);
    expect(r.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(st.map((h) => h.serving)).toEqual(['v2']);
    expect(prod.map((h) => h.serving)).toEqual(['v2', 'v2', 'v2']);
    const images = await Promise.all(['web1', 'web2', 'web3', 'web4'].map((h) => fleet.hostExec(h, ['sh', '-c', 'cat /var/lib/pier/deploy-app/current.json'])));
    expect(new Set(images.map((t) => JSON.parse(t).image))).toEqual(new Set([`reg:5000/pier-test/deploy-app@${r.digest}`]));
    expect(l.sent).toBeGreaterThan(1000);
    expect(l.failures).toEqual([]);
    expect(l.versions.v2).toBeGreaterThan(0);
  }, 300_000);

  it('a version that fails an E2E check never reaches production', async () => {
    const load = startLoad(lbPort.production!, 40);
    const r = await release(target('staging'), target('production'), { version: 'v3', clock: scaledClock(SCALE), log: () => undefined });
    const l = await load.stop();
    expect(r.ok).toBe(false);
    expect(r.exitCode).toBe(1);
    expect(r.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['deploy:passed', 'checks:failed', 'promote:skipped']);
    const checks = r.steps[1]!.detail as EnvChecksReport;
    expect(checks.results[0]).toMatchObject({ ok: false, runner: 'node:test', counts: { pass: 2, fail: 1 } });
    expect(r.error).toMatch(/^staging checks failed for v3 \(sha256:[0-9a-f]{64}\); production was not touched$/);
    expect(await serving('staging')).toEqual(['v3']);
    expect(await serving('production')).toEqual(['v2', 'v2', 'v2']);
    expect(Object.keys(l.versions)).toEqual(['v2']);
    expect(l.failures).toEqual([]);
  }, 180_000);

  it('pier promote staging production is refused for the digest whose staging checks failed (exit 1, production untouched)', async () => {
    const r = await runPier(['promote', 'staging', 'production', '--config', join(root, 'pier.yaml')], { cwd: root, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/✗ promotion gate staging .*cannot promote v3 \(sha256:[0-9a-f]{12}\) from staging: its checks failed \(.*\): e2e failed \(2 passed, 1 failed\)/);
    expect(await serving('production')).toEqual(['v2', 'v2', 'v2']);
  }, 90_000);

  it('a version that starts failing 10 % of requests minutes after the deploy is rolled back by the guard on every host, with the rule and figures', async () => {
    const lines: string[] = [];
    const load = startLoad(lbPort.production!, 80);
    const r = await release(target('staging'), target('production'), { version: 'v4', clock: scaledClock(SCALE), log: (l) => lines.push(l) });
    const l = await load.stop();
    expect(r.exitCode, lines.join('\n')).toBe(1);
    expect(r.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['deploy:passed', 'checks:passed', 'promotion gate:passed', 'deploy:passed', 'smoke:passed', 'guard:failed']);
    const g = r.steps[5]!.detail as GuardReport;
    expect(g.phase).toBe('failed');
    expect(g.action).toBe('rolled-back');
    // The fault starts ~30 s (real) after the containers start: minutes of rule time into the guard.
    expect(g.seconds).toBeGreaterThan(120);
    expect(g.seconds).toBeLessThan(600);
    expect(g.analysis.reasons.join('\n')).toMatch(/^(availability: "availability < 95%" held for 1m\S* \(for: 1m\): availability \d+\.\d%|error-rate: "error_rate > 5%" held for 2m\S* \(for: 2m\): error_rate \d+\.\d%), requests \d+, errors \d+/);
    expect(g.rollback?.hosts.map((h) => `${h.host}:${h.from}->${h.to}:${h.ok}`)).toEqual(['web2:v4->v2:true', 'web3:v4->v2:true', 'web4:v4->v2:true']);
    expect(await serving('production')).toEqual(['v2', 'v2', 'v2']);
    expect(l.versions.v4).toBeGreaterThan(0);
    const after = await Promise.all(Array.from({ length: 6 }, () => get(`http://127.0.0.1:${lbPort.production}/version`).then(async (x) => ((await x.json()) as { version: string }).version)));
    expect(new Set(after)).toEqual(new Set(['v2']));
  }, 300_000);

  it('pier release without --version releases what its own pier ci run published, identified by the digest in that run\'s report', async () => {
    // The project becomes buildable: the test app's sources, its build args, the fleet's registry, a short load test.
    for (const f of ['Dockerfile', 'server.cjs', 'migrate.cjs']) copyFileSync(join(repoRoot, 'test/fixtures/deploy-app', f), join(root, f));
    writeFileSync(join(root, 'pier.yaml'), stringify({
      app: { name: 'deploy-app', image: 'pier-test/deploy-app', version: '5.0.0', port: 3000, health: { path: '/health', timeoutSeconds: 30 }, test: { command: ['true'] }, buildArgs: { NODE_IMAGE: images.node, BASE_IMAGE: baseImage } },
      pipeline: { registry: { address: `127.0.0.1:${fleet.registryPort}` }, loadtest: { durationSeconds: 2, warmupSeconds: 1, slo: { p95Ms: 5000, p99Ms: 10000, maxErrorRate: 0.01 } } },
    }));
    let tag: string | undefined;
    try {
      const r = await runPier(['release', '--allow-missing-scanner', '--no-guard', '--json', '--config', join(root, 'pier.yaml')], { cwd: root, timeoutMs: 420_000 });
      expect(r.code, r.stderr.slice(-4000)).toBe(0);
      const report = JSON.parse(r.stdout) as ReleaseReport;
      expect(report.steps.map((s) => `${s.name}${s.env ? ` ${s.env}` : ''}:${s.status}`)).toEqual([
        'ci:passed', 'deploy staging:passed', 'checks staging:passed', 'promotion gate staging:passed', 'deploy production:passed', 'smoke production:passed', 'guard production:skipped',
      ]);
      // The hand-over: the tag and digest are the ones the ci run's publish stage recorded.
      const ci = report.steps[0]!.detail as RunReport;
      const pub = ci.stages.find((s) => s.name === 'publish')!.figures as { image: string; digest: string };
      tag = pub.image.split(':').pop()!;
      expect(tag).toMatch(/^5\.0\.0-/);
      expect(pub.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(report).toMatchObject({ version: tag, digest: pub.digest, exitCode: 0 });
      expect(await serving('staging')).toEqual([tag]);
      expect(await serving('production')).toEqual([tag, tag, tag]);
      const current = await Promise.all(['web1', 'web2', 'web3', 'web4'].map((h) => fleet.hostExec(h, ['sh', '-c', 'cat /var/lib/pier/deploy-app/current.json'])));
      expect(new Set(current.map((t) => JSON.parse(t).image))).toEqual(new Set([`reg:5000/pier-test/deploy-app@${pub.digest}`]));
      expect(await get(`http://127.0.0.1:${lbPort.production}/version`).then(async (x) => ((await x.json()) as { version: string }).version)).toBe(tag);
    } finally {
      // What the ci run left on this machine (the fleet's registry goes with the fleet).
      if (tag) await exec(['docker', 'rmi', `pier-test/deploy-app:${tag}`, `127.0.0.1:${fleet.registryPort}/pier-test/deploy-app:${tag}`], { nothrow: true });
    }
  }, 480_000);
});
