/**
 * The real example app (examples/api) deployed by pier to 2 simulated hosts, its PostgreSQL and
 * Redis on the fleet network (DATABASE_URL/REDIS_URL in the environment's env file): migrations
 * run once as the release step, then a rolling deploy under load drops nothing, then the app's
 * own E2E suite (examples/api/e2e) runs as the environment's `checks:` through the load balancer.
 */
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.ts';
import { Progress } from '../../src/deploy/progress.ts';
import type { DeployTarget } from '../../src/deploy/target.ts';
import { exec } from '../../src/util/exec.ts';
import { deployTarget, images, writeProject, type Fleet } from '../helpers/fleet.ts';
import { useFleet } from '../helpers/use-fleet.ts';
import { startLoad } from '../helpers/load.ts';
import { repoRoot } from '../helpers/paths.ts';
import { get } from '../helpers/http.ts';
import { runPier } from '../helpers/pier.ts';
import type { ReleaseReport } from '../../src/release/report.ts';
import type { EnvChecksReport } from '../../src/release/env-checks.ts';

let fleet: Fleet;
let target: DeployTarget;
let config: string;
const lines: string[] = [];

const build = () =>
  exec([
    'docker', 'buildx', 'build', '--load', '--quiet', '--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt',
    '--build-arg', `NODE_IMAGE=${images.node}`, '--target', 'runtime', '-t', 'pier-test/example-api:deploy', join(repoRoot, 'examples/api'),
  ]);
useFleet({ count: 2, services: true, alongside: () => [build()] }, async (f) => {
  fleet = f;
  for (const v of ['1.0.0', '1.0.1']) await fleet.push('pier-test/example-api:deploy', `pier-test/example-api:${v}`);
  config = writeProject(fleet, {
    app: 'example-api',
    image: 'pier-test/example-api',
    migrate: ['node', 'src/migrate.js'],
    healthTimeoutSeconds: 40,
    env: {
      DATABASE_URL: `postgres://api:fleet-db-pass@${fleet.services.postgres}:5432/api`,
      REDIS_URL: `redis://${fleet.services.redis}:6379`,
      LOG_LEVEL: 'warn',
    },
    // The app's own E2E suite, run by pier checks against the environment's url (the load balancer).
    environment: {
      url: `http://127.0.0.1:${fleet.lbPort}`,
      checks: [{ name: 'e2e', command: ['npm', '--prefix', join(repoRoot, 'examples/api'), 'run', '--silent', 'test:e2e'], timeoutSeconds: 120 }],
    },
  });
  target = deployTarget(config);
});

describe.sequential('pier deploy with the real example app', () => {
  it('first deploy runs migrations once and serves through the load balancer with a healthy database and cache', async () => {
    const r = await deploy(target, { version: '1.0.0', progress: new Progress((l) => lines.push(l)) });
    expect(r.ok, `${r.error}\n${r.logs ?? ''}`).toBe(true);
    expect(lines.filter((l) => /migrating/.test(l))).toHaveLength(1);
    const res = await get(`http://127.0.0.1:${fleet.lbPort}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', version: '1.0.0', database: 'ok', cache: 'ok' });
    // The database password travels only in the env file (0600), never in output.
    expect(lines.join('\n')).not.toContain('fleet-db-pass');
    expect(JSON.stringify(r)).not.toContain('fleet-db-pass');
  }, 180_000);

  it('rolls 1.0.1 out under load with zero failed requests', async () => {
    const load = startLoad(fleet.lbPort, 30, { path: '/items' });
    const r = await deploy(target, { version: '1.0.1', progress: new Progress(() => undefined) });
    const l = await load.stop();
    expect(r.ok, r.error).toBe(true);
    expect(l.sent).toBeGreaterThan(100);
    expect(l.failures).toEqual([]);
    const v = await (await get(`http://127.0.0.1:${fleet.lbPort}/version`)).json();
    expect(v).toMatchObject({ version: '1.0.1' });
  }, 180_000);

  it("the app's E2E suite (CRUD, /health, /version, /metrics) passes through the load balancer as pier checks, counted in the report", async () => {
    const r = await runPier(['checks', 'production', '--json', '--config', config], { cwd: dirname(config), timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as ReleaseReport;
    const checks = report.steps[0]!.detail as EnvChecksReport;
    expect(checks).toMatchObject({ env: 'production', version: '1.0.1', ok: true, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(checks.unrecorded).toBeUndefined();
    expect(checks.results).toEqual([expect.objectContaining({ name: 'e2e', ok: true, runner: 'node:test', counts: expect.objectContaining({ tests: 5, pass: 5, fail: 0 }) })]);
    expect(r.stdout + r.stderr).not.toContain('fleet-db-pass');
  }, 180_000);
});
