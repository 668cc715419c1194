// Failing gates stop the run with exit 1 at the right stage; a missing scanner is exit 3 (or
// skipped with --allow-missing-scanner); SIGINT cleans up. Uses the dependency-free fixture app
// so these runs stay short.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { docker } from '../../src/docker/client.ts';
import { interpolationVars } from '../../src/config/load.ts';
import { repoRoot } from '../helpers/paths.ts';
import { leftoversOfPid, pier, stage, testConfig, trivyFixture, trivyStandIn, useFixtureApp } from '../fixtures/pipeline-run.ts';
import { DockerEngine } from '../../src/engine/docker.ts';
import { newRunId } from '../../src/util/run-id.ts';

const pids: number[] = [];

afterAll(async () => {
  for (const pid of pids) expect(await leftoversOfPid(pid)).toEqual([]);
});

describe('pipeline gates (fixture app)', () => {
  it('a failing app test stops the run at test with exit 1', async () => {
    const config = testConfig((c) => {
      useFixtureApp(c);
      c.app.env.FIXTURE_FAIL_TEST = '1';
    });
    const run = await pier(['ci', '--config', config, '--json'], {}, { timeoutMs: 180_000 });
    pids.push(run.pid);
    expect(run.code, run.stderr.slice(-2000)).toBe(1);
    const r = run.report!;
    expect(r.stages.map((s) => [s.name, s.status])).toEqual([
      ['build', 'passed'], ['test', 'failed'], ['scan', 'skipped'], ['loadtest', 'skipped'], ['publish', 'skipped'],
    ]);
    expect(stage(r, 'test').figures).toMatchObject({ tests: 4, pass: 3, fail: 1, exitCode: 1 });
    expect(stage(r, 'test').reason).toMatch(/npm test exited 1 \(1 of 4 failed\)/);
    expect(stage(r, 'scan').reason).toBe('not run: test failed');
  }, 180_000);

  it('a CRITICAL finding fails the scan with exit 1', async () => {
    const argvFile = join(tmpdir(), `pier-trivy-argv-${process.pid}.json`);
    const config = testConfig(useFixtureApp);
    const run = await pier(['scan', '--config', config, '--json'], { PIER_TRIVY_FIXTURE: trivyFixture('alpine-39.json.golden'), PIER_TRIVY_ARGV_FILE: argvFile });
    pids.push(run.pid);
    expect(run.code, run.stderr.slice(-2000)).toBe(1);
    const s = stage(run.report!, 'scan');
    expect(s.status).toBe('failed');
    expect(s.reason).toMatch(/^2 finding\(s\) at HIGH\/CRITICAL: CVE-2019-14697 \(CRITICAL, musl/);
    expect(s.figures).toMatchObject({ findings: { CRITICAL: 2, HIGH: 0, MEDIUM: 4, LOW: 0, UNKNOWN: 0 }, failing: 2 });
    const argv = JSON.parse(readFileSync(argvFile, 'utf8')) as string[];
    expect(argv.slice(0, 2)).toEqual(['image', '--input']);
    expect(argv.slice(3)).toEqual(['--format', 'json', '--output', expect.stringMatching(/\.pier\/runs\/.+\/trivy\.json$/), '--scanners', 'vuln', '--exit-code', '0', '--quiet']);
    const sarif = JSON.parse(readFileSync(s.figures.sarif as string, 'utf8'));
    expect(sarif.runs[0].results.filter((x: { level: string }) => x.level === 'error')).toHaveLength(2);
  }, 120_000);

  it('a scanner that fails is an environment failure (exit 3) with its message', async () => {
    const config = testConfig(useFixtureApp);
    const run = await pier(['scan', '--config', config, '--json'], { PIER_TRIVY_EXIT: '1' });
    pids.push(run.pid);
    expect(run.code).toBe(3);
    expect(stage(run.report!, 'scan').reason).toMatch(/trivy failed \(exit 1\): FATAL stand-in failure requested/);
  }, 120_000);

  it('without any trivy: exit 3 with how to provide one; --allow-missing-scanner marks scan skipped', async () => {
    const config = testConfig((c) => {
      useFixtureApp(c);
      delete c.pipeline.scan.binary;
      c.pipeline.scan.image = 'pier.local/no-such-trivy:0';
    });
    const stop = await pier(['scan', '--config', config]);
    pids.push(stop.pid);
    expect(stop.code).toBe(3);
    expect(stop.stdout).toMatch(/✗ scan +failed/);
    expect(stop.stdout).toMatch(/hint: provide trivy: install a trivy binary on PATH/);
    const skip = await pier(['ci', '--config', config, '--json', '--only', 'scan', '--allow-missing-scanner']);
    pids.push(skip.pid);
    expect(skip.code).toBe(0);
    const s = stage(skip.report!, 'scan');
    expect(s.status).toBe('skipped');
    expect(s.reason).toMatch(/^trivy unavailable: .*pier\.local\/no-such-trivy:0 is not available.*\(--allow-missing-scanner\)$/);
  }, 120_000);

  it('SIGINT during the test stage stops the run and leaves no container, network or volume', async () => {
    const config = testConfig((c) => {
      useFixtureApp(c);
      c.app.test.command = ['sh', '-c', 'sleep 60'];
    });
    let sent = false;
    const run = await pier(['ci', '--config', config], {}, {
      timeoutMs: 120_000,
      onStderr: (all, child) => {
        if (!sent && all.includes('[pier] test: started')) {
          sent = true;
          // Let the sidecars and the test container come up first.
          setTimeout(() => child.kill('SIGINT'), 4000);
        }
      },
    });
    pids.push(run.pid);
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stdout).toMatch(/✗ test +failed/);
    expect(run.stdout).toMatch(/interrupted/);
    expect(await leftoversOfPid(run.pid)).toEqual([]);
  }, 150_000);

  it('the next run reaps what a crashed run left (dead pid on this host)', async () => {
    const d = docker();
    const runId = `crashed-${process.pid}-${Date.now()}`;
    // pid 2^22+1 is above Linux's pid_max: certainly not a live process.
    const labels = { 'pier.run': runId, 'pier.pid': String(4194305), 'pier.host': hostname() };
    const net = await d.createNetwork({ Name: `pier-${runId}`, Labels: labels });
    const c = await d.createContainer({ Image: interpolationVars(repoRoot).PIER_REDIS_IMAGE ?? 'redis:7', Cmd: ['sleep', '300'], Labels: labels, HostConfig: { NetworkMode: `pier-${runId}` } });
    try {
      await c.start();
      const run = await pier(['build', '--config', testConfig(useFixtureApp), '--json']);
      pids.push(run.pid);
      expect(run.code, run.stderr.slice(-1000)).toBe(0);
      const filters = JSON.stringify({ label: [`pier.run=${runId}`] });
      expect(await d.listContainers({ all: true, filters })).toEqual([]);
      expect(await d.listNetworks({ filters })).toEqual([]);
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
      await net.remove().catch(() => undefined);
    }
  }, 120_000);

  it('the trivy IMAGE route: tarball mounted, report read back from the container, gate applied', async () => {
    // A stand-in trivy image (the stand-in script + a real report) in place of aquasec/trivy.
    const ctx = mkdtempSync(join(tmpdir(), 'pier-trivy-img-'));
    copyFileSync(trivyStandIn, join(ctx, 'trivy'));
    copyFileSync(trivyFixture('debian-buster.json.golden'), join(ctx, 'report.json'));
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'ARG NODE_IMAGE=node:22-bookworm-slim\nFROM ${NODE_IMAGE}\nCOPY trivy report.json /opt/\nENV PIER_TRIVY_FIXTURE=/opt/report.json\nENTRYPOINT ["node", "/opt/trivy"]\n',
    );
    const engine = new DockerEngine({ runId: newRunId() });
    const tag = `pier-test/trivy-standin:${engine.runId}`;
    try {
      await engine.build({ context: ctx, dockerfile: 'Dockerfile', buildArgs: { NODE_IMAGE: interpolationVars(repoRoot).PIER_NODE_IMAGE ?? 'node:22-bookworm-slim' }, secrets: [], tags: [tag] });
      const config = testConfig((c) => {
        useFixtureApp(c);
        delete c.pipeline.scan.binary;
        c.pipeline.scan.image = tag;
        c.pipeline.scan.ignoreUnfixed = true;
      });
      const run = await pier(['scan', '--config', config, '--json']);
      pids.push(run.pid);
      expect(run.code, run.stderr.slice(-1500)).toBe(1);
      const s = stage(run.report!, 'scan');
      expect(s.figures).toMatchObject({ scanner: tag, findings: { CRITICAL: 1, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 }, unfixedIgnored: 1, failing: 1 });
    } finally {
      await engine.close();
      await docker().getImage(tag).remove().catch(() => undefined);
      // trivy's DB cache volume outlives runs by design (label pier.cache); a test leaves none.
      await docker().getVolume('pier-cache-trivy').remove().catch(() => undefined);
    }
  }, 120_000);
});
