/**
 * Other teams' apps, end to end, as a user runs pier (issue 10's "Show"): pier is packed once and
 * installed into each app's own repository outside this checkout; then, with that installed
 * `pier` only: `pier init`, `pier ci` (real gates; trivy cannot be obtained here: the Flask app's
 * user points pipeline.scan.binary at the stand-in in test/fixtures/trivy, which writes a real
 * trivy report, so its scan runs and gates; the other two run with --allow-missing-scanner),
 * `pier env up dev` / `status` / `down` (nothing left behind), and a deploy plus a rollback on a
 * simulated fleet under load with zero failed requests. Three apps: Flask (single-stage
 * Dockerfile, pytest, SQLite on local disk), Go (standard library, `go test`, no /health, no
 * database) and Node (single-stage Dockerfile, jest, its own compose file). One fleet for the
 * file, started by the installed `pier dev-hosts up --env fleet` and torn down by its Ctrl-C; the
 * apps take turns on it, each on hosts reset to fresh (one pier proxy per host serves one app).
 * Then: a failing test is a gate, old images are pruned, and two apps' dev stacks run side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { interpolationVars } from '../../src/config/load.ts';
import { fleetImages } from '../../src/dev-hosts/fleet.ts';
import type { DevHostsState } from '../../src/dev-hosts/state.ts';
import { poll } from '../../src/util/poll.ts';
import type { RunReport } from '../../src/pipeline/report.ts';
import { exec } from '../../src/util/exec.ts';
import { startLoad } from '../helpers/load.ts';
import { repoRoot } from '../helpers/paths.ts';
import { leftoversOfPid, trivyFixture, trivyStandIn } from '../fixtures/pipeline-run.ts';

interface AppCase {
  fixture: string;
  /** app.name pier init guesses (compose project `<name>-<env>`). */
  name: string;
  health: string;
  /** How pier gets into the repo: `--save-dev` as the README says; `--no-save` for a Node app whose image runs `npm ci` (a tarball path in its package.json cannot resolve inside the build). */
  install: '--save-dev' | '--no-save';
  tests: { runner: string; pass: number };
  /** Version of the first release and where it comes from. */
  v1: { version: string; source: string };
  /** Scan with the trivy stand-in (pipeline.scan.binary) instead of --allow-missing-scanner. */
  scan?: true;
  /** Make the second release: a code change and a version bump (a git tag or the manifest). */
  release2: (dir: string) => Promise<{ version: string; source: string }>;
}

const work = mkdtempSync(join(tmpdir(), 'pier-any-app-'));
const git = (dir: string, ...args: string[]) => exec(['git', '-c', 'user.email=dev@example.com', '-c', 'user.name=dev', ...args], { cwd: dir });
const commitAll = async (dir: string, msg: string) => (await git(dir, 'add', '-A'), await git(dir, 'commit', '-qm', msg));
const sha = async (dir: string) => (await git(dir, 'rev-parse', '--short=7', 'HEAD')).stdout.trim();
const append = (file: string, text: string) => writeFileSync(file, readFileSync(file, 'utf8') + text);

const APPS: AppCase[] = [
  {
    fixture: 'python-flask', name: 'notes', health: '/healthz', install: '--save-dev', scan: true,
    tests: { runner: 'pytest', pass: 4 },
    v1: { version: '0.3.1', source: 'pyproject.toml' },
    release2: async (dir) => {
      append(join(dir, 'notes', 'app.py'), '\n# release 0.4.0\n');
      await commitAll(dir, 'release 0.4.0');
      await git(dir, 'tag', 'v0.4.0');
      return { version: '0.4.0', source: 'git tag' };
    },
  },
  {
    fixture: 'go-stdlib', name: 'counter', health: '/', install: '--save-dev',
    tests: { runner: 'go', pass: 4 },
    // Tagged v1.0.0 before pier's files were committed: HEAD is one commit past the tag.
    v1: { version: '1.0.0', source: 'nearest git tag' },
    release2: async (dir) => {
      const f = join(dir, 'server.go');
      writeFileSync(f, readFileSync(f, 'utf8').replace('"error": "not found"', '"error": "no such path"'));
      await commitAll(dir, 'release 1.1.0');
      await git(dir, 'tag', 'v1.1.0');
      return { version: '1.1.0', source: 'git tag' };
    },
  },
  {
    fixture: 'node-jest', name: 'todo-api', health: '/health', install: '--no-save',
    tests: { runner: 'jest', pass: 4 },
    v1: { version: '2.0.0', source: 'package.json' },
    release2: async (dir) => {
      const pkg = join(dir, 'package.json');
      writeFileSync(pkg, readFileSync(pkg, 'utf8').replace('"version": "2.0.0"', '"version": "2.1.0"'));
      append(join(dir, 'src', 'app.js'), '\n// release 2.1.0\n');
      await commitAll(dir, 'release 2.1.0');
      return { version: '2.1.0', source: 'package.json' };
    },
  },
];

const dirOf = (a: AppCase) => join(work, a.fixture);
/** The fleet as `pier dev-hosts up` reports it (.pier/dev-hosts.json) plus the environment file it wrote. */
let fleet: { runId: string; registryPort: number; lbPort: number; hosts: number; envYaml: string };
let devHosts: ChildProcess | undefined;
let devHostsErr = '';
const opsDir = join(work, 'ops');
const pids: number[] = [];

/** The user's shell: nothing from this test run (PIER_*, vitest) leaks into the installed pier. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIER_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return { ...env, CI: '1', ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  report?: RunReport;
}

/** The installed `pier` (node_modules/.bin/pier of the app's repo) in the app's directory; bounded. */
function pier(a: AppCase, args: string[], extra: Record<string, string> = {}, timeoutMs = 420_000): Promise<Run> {
  const child = spawn(join(dirOf(a), 'node_modules', '.bin', 'pier'), args, { cwd: dirOf(a), env: userEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  pids.push(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      let report: RunReport | undefined;
      try {
        report = JSON.parse(stdout) as RunReport;
      } catch {
        /* not a JSON report */
      }
      resolve({ code, stdout, stderr, report });
    });
  });
}

const stage = (r: Run, name: string) => r.report!.stages.find((s) => s.name === name)!;
const why = (r: Run) => `exit ${r.code}\n${r.stderr.slice(-4000)}`;

/** Copy the app out of this checkout, make it a git repo, install the packed pier into it. */
async function prepare(a: AppCase, tarball: string): Promise<void> {
  const dir = dirOf(a);
  cpSync(join(repoRoot, 'test', 'fixtures', 'apps', a.fixture), dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', 'main');
  await commitAll(dir, 'the app');
  if (a.v1.source.endsWith('git tag')) await git(dir, 'tag', `v${a.v1.version}`);
  await exec(['npm', 'install', a.install, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: dir, timeoutMs: 240_000 });
}

async function packAndPrepare(): Promise<void> {
  expect(work.startsWith(repoRoot)).toBe(false);
  const packed = (await exec(['npm', 'pack', '--pack-destination', work, '--silent'], { cwd: repoRoot, timeoutMs: 240_000 })).stdout.trim().split('\n').pop()!;
  // The first app's install brings the fleet up (its `pier dev-hosts`) while the others install.
  await prepare(APPS[0]!, join(work, packed));
  await Promise.all([startDevHosts(), ...APPS.slice(1).map((a) => prepare(a, join(work, packed)))]);
}

/**
 * `pier dev-hosts up --hosts 2 --env fleet` with the installed pier, in an operations directory of
 * its own: it runs in the foreground until Ctrl-C; ready once it has written its state file.
 */
async function startDevHosts(): Promise<void> {
  mkdirSync(opsDir);
  const bin = join(dirOf(APPS[0]!), 'node_modules', '.bin', 'pier');
  devHosts = spawn(bin, ['dev-hosts', 'up', '--hosts', '2', '--env', 'fleet'], { cwd: opsDir, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  pids.push(devHosts.pid!);
  devHosts.stderr!.on('data', (d: Buffer) => (devHostsErr += d.toString()));
  devHosts.stdout!.resume();
  let exited = false;
  devHosts.on('close', () => (exited = true));
  const state = await poll('pier dev-hosts up', async () => {
    if (exited) throw new Error(`pier dev-hosts up exited:\n${devHostsErr.slice(-3000)}`);
    const f = join(opsDir, '.pier', 'dev-hosts.json');
    return existsSync(f) && existsSync(join(opsDir, 'environments', 'fleet.yaml')) ? (JSON.parse(readFileSync(f, 'utf8')) as DevHostsState) : undefined;
  }, { timeoutMs: 280_000, intervalMs: 500 });
  fleet = {
    runId: state.runId,
    registryPort: Number(state.registry.split(':').pop()),
    lbPort: Number(new URL(state.loadBalancer).port),
    hosts: state.hosts.length,
    envYaml: readFileSync(join(opsDir, 'environments', 'fleet.yaml'), 'utf8'),
  };
}

beforeAll(packAndPrepare, 600_000);

/** Ctrl-C to `pier dev-hosts up`: it removes the fleet and its environment file; nothing with its run id stays. */
async function stopDevHosts(): Promise<void> {
  if (!devHosts || devHosts.exitCode !== null) return;
  const closed = new Promise<number | null>((resolve) => devHosts!.on('close', (code) => resolve(code)));
  devHosts.kill('SIGINT');
  // Removing two Docker-in-Docker hosts (their pulled images inside) took over 120 s on a machine
  // under load (average 10 on 2 cores); a teardown that hangs still ends here.
  const t0 = Date.now();
  const timer = setTimeout(() => devHosts!.kill('SIGKILL'), 240_000);
  const code = await closed;
  clearTimeout(timer);
  expect(code, `after ${Math.round((Date.now() - t0) / 1000)} s: ${devHostsErr.slice(-2000)}`).toBe(0);
  expect(existsSync(join(opsDir, 'environments', 'fleet.yaml'))).toBe(false);
  expect((await exec(['docker', 'ps', '-a', '--quiet', '--filter', `label=pier.run=${fleet.runId}`])).stdout.trim()).toBe('');
}

/** Between apps: the hosts as new (no containers, volumes or pier state): one proxy per host serves one app. */
async function resetHosts(): Promise<void> {
  const sshhost = fleetImages(interpolationVars(repoRoot)).sshhost;
  const hosts = (await exec(['docker', 'ps', '--quiet', '--filter', `label=pier.run=${fleet.runId}`, '--filter', `ancestor=${sshhost}`])).stdout.split('\n').filter(Boolean);
  expect(hosts).toHaveLength(fleet.hosts);
  await Promise.all(hosts.map((c) => exec(['docker', 'exec', c, 'sh', '-c', 'docker rm -f $(docker ps -aq) >/dev/null 2>&1; docker volume prune -f >/dev/null; rm -rf /var/lib/pier'])));
}

/** Compose objects of a project still on the engine. */
async function projectLeftovers(project: string): Promise<string[]> {
  const f = ['--filter', `label=com.docker.compose.project=${project}`];
  const lines = async (kind: string, argv: string[]) => (await exec(argv)).stdout.split('\n').filter(Boolean).map((l) => `${kind} ${l}`);
  return [
    ...(await lines('container', ['docker', 'ps', '-a', ...f, '--format', '{{.Names}}'])),
    ...(await lines('network', ['docker', 'network', 'ls', ...f, '--format', '{{.Name}}'])),
    ...(await lines('volume', ['docker', 'volume', 'ls', ...f, '--format', '{{.Name}}'])),
  ];
}

/** 127.0.0.1:PORT of the app service from `pier env status --json`. */
async function devAddress(a: AppCase): Promise<string> {
  const st = await pier(a, ['env', 'status', 'dev', '--json']);
  expect(st.code, why(st)).toBe(0);
  const services = (JSON.parse(st.stdout) as { services: { service: string; state: string; ports: string }[] }).services;
  const app = services.find((s) => s.service === 'app')!;
  expect(app.state).toBe('running');
  const m = /127\.0\.0\.1:(\d+)->/.exec(app.ports);
  expect(m, app.ports).toBeTruthy();
  return `127.0.0.1:${m![1]}`;
}

const get = async (addr: string, path: string) => {
  const res = await fetch(`http://${addr}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
};

afterAll(async () => {
  await stopDevHosts();
  // Whatever a failed test left: the dev stacks, then images this file built (by the apps' names).
  await Promise.all(APPS.map((a) => pier(a, ['env', 'down', 'dev', '--volumes'], {}, 60_000).catch(() => undefined)));
  const refs = (await exec(['docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n');
  const ours = refs.filter((r) => APPS.some((a) => r.startsWith(`${a.name}:`) || r.startsWith(`${a.name}-dev-`) || (fleet && r.startsWith(`127.0.0.1:${fleet.registryPort}/${a.name}:`))));
  if (ours.length) await exec(['docker', 'image', 'rm', ...ours], { nothrow: true });
  for (const pid of pids) expect(await leftoversOfPid(pid), `pier pid ${pid}`).toEqual([]);
  rmSync(work, { recursive: true, force: true });
}, 480_000);

const tags: Record<string, { v1?: string; v2?: string }> = {};

for (const a of APPS) {
  describe.sequential(`${a.fixture}: installed pier, init, ci, env, deploy and rollback`, () => {
    const dir = () => dirOf(a);

    it('pier init guesses the app and writes its configuration; the user points it at the fleet and commits', async () => {
      const r = await pier(a, ['init', '--json']);
      expect(r.code, why(r)).toBe(0);
      const init = JSON.parse(r.stdout) as { detection: { name: { value: string } }; healthPath: string; probe?: { status: string }; files: { path: string; action: string }[]; warnings: string[] };
      expect(init.detection.name.value).toBe(a.name);
      expect(init.probe?.status).toBe('found');
      expect(init.healthPath).toBe(a.health);
      expect(init.files.filter((f) => f.action === 'created').map((f) => f.path)).toEqual(expect.arrayContaining(['pier.yaml', 'environments/dev.yaml', 'environments/production.yaml']));
      // Only the Flask app keeps state on local disk.
      expect(init.warnings.length).toBe(a.fixture === 'python-flask' ? 1 : 0);
      // What the user changes after reading "check:": the registry of their fleet (here the
      // simulated one: its environment file, as `pier dev-hosts up --env fleet` wrote it) and a
      // shorter load test.
      const cfg = parse(readFileSync(join(dir(), 'pier.yaml'), 'utf8'));
      cfg.pipeline.registry = { address: `127.0.0.1:${fleet.registryPort}` };
      Object.assign(cfg.pipeline.loadtest, { durationSeconds: 3, warmupSeconds: 1 });
      if (a.scan) cfg.pipeline.scan = { ...cfg.pipeline.scan, binary: trivyStandIn };
      writeFileSync(join(dir(), 'pier.yaml'), stringify(cfg));
      writeFileSync(join(dir(), 'environments', 'fleet.yaml'), fleet.envYaml);
      await commitAll(dir(), 'pier init');
      // pier's own files never make the tree dirty: run reports, env files, pier in node_modules.
      expect((await git(dir(), 'status', '--porcelain')).stdout).toBe('');
    }, 420_000);

    it(`pier ci${a.scan ? '' : ' --allow-missing-scanner'}: build, tests, ${a.scan ? 'scan, ' : ''}load test and publish pass${a.scan ? '; a critical finding is a gate' : '; the scan says it was skipped'}`, async () => {
      // The stand-in writes this real trivy report: one MEDIUM finding, under the default failOn.
      const r = await pier(a, ['ci', ...(a.scan ? [] : ['--allow-missing-scanner']), '--json'], { PIER_TRIVY_FIXTURE: trivyFixture('npm.json.golden') });
      expect(r.code, why(r)).toBe(0);
      const tag = `${a.v1.version}-${await sha(dir())}`;
      expect(stage(r, 'build').figures).toMatchObject({ version: a.v1.version, versionSource: a.v1.source, tag });
      expect(stage(r, 'test')).toMatchObject({ status: 'passed', figures: { runner: a.tests.runner, pass: a.tests.pass, fail: 0 } });
      if (a.scan) expect(stage(r, 'scan')).toMatchObject({ status: 'passed', figures: { scanner: trivyStandIn, findings: { CRITICAL: 0, HIGH: 0, MEDIUM: 1, LOW: 0, UNKNOWN: 0 }, total: 1, failing: 0 } });
      else expect(stage(r, 'scan').status).toBe('skipped');
      expect(stage(r, 'loadtest')).toMatchObject({ status: 'passed', figures: { errors: 0 } });
      expect(stage(r, 'publish')).toMatchObject({ status: 'passed', figures: { image: `127.0.0.1:${fleet.registryPort}/${a.name}:${tag}` } });
      tags[a.name] = { v1: tag };
      if (!a.scan) return;
      // The same image with a CRITICAL finding that has a fix (and a LOW one): the gate says no.
      const gate = await pier(a, ['scan', '--json'], { PIER_TRIVY_FIXTURE: trivyFixture('debian-buster.json.golden') });
      expect(gate.code, why(gate)).toBe(1);
      expect(stage(gate, 'scan')).toMatchObject({ status: 'failed', figures: { total: 2, failing: 1 } });
      expect(stage(gate, 'scan').reason).toBe('1 finding(s) at HIGH/CRITICAL: CVE-2019-18224 (CRITICAL, libidn2-0)');
    }, 600_000);

    it('pier env up dev / status / down: serves on a 127.0.0.1 port as project <app>-dev, leaves nothing behind', async () => {
      const project = `${a.name}-dev`;
      const up = await pier(a, ['env', 'up', 'dev', '--json'], { APP_PORT: '0' });
      expect(up.code, why(up)).toBe(0);
      expect(JSON.parse(up.stdout)).toMatchObject({ project, status: 'healthy' });
      const addr = await devAddress(a);
      expect((await get(addr, a.health)).status).toBe(200);
      expect(await projectLeftovers(project)).toContain(`network ${project}_default`);
      const down = await pier(a, ['env', 'down', 'dev', '--volumes']);
      expect(down.code, why(down)).toBe(0);
      expect(await projectLeftovers(project)).toEqual([]);
    }, 420_000);

    it('deploy to the fleet, deploy the next release and roll back, under load: zero failed requests', async () => {
      const first = await pier(a, ['deploy', 'fleet', '--version', tags[a.name]!.v1!]);
      expect(first.code, why(first)).toBe(0);
      const v2 = await a.release2(dir());
      const pub = await pier(a, ['publish', '--json']);
      expect(pub.code, why(pub)).toBe(0);
      const tag2 = `${v2.version}-${await sha(dir())}`;
      expect(stage(pub, 'build').figures).toMatchObject({ version: v2.version, versionSource: v2.source, tag: tag2 });
      tags[a.name]!.v2 = tag2;

      const load = startLoad(fleet.lbPort, 40, { path: a.health, maxSeconds: 240 });
      let l;
      try {
        // No --version: deploy follows what `pier publish` gave this tree.
        const next = await pier(a, ['deploy', 'fleet']);
        expect(next.code, why(next)).toBe(0);
        expect(next.stderr).toContain(`deploy ${a.name} ${tag2} to fleet`);
        const back = await pier(a, ['rollback', 'fleet']);
        expect(back.code, why(back)).toBe(0);
      } finally {
        l = await load.stop();
      }
      console.log(JSON.stringify({ app: a.name, sent: l.sent, failed: l.failed, rateRps: l.rateRps, p99Ms: l.p99Ms, versions: l.versions }));
      expect(l.failures).toEqual([]);
      expect(l.sent).toBeGreaterThan(100);
      expect(Object.keys(l.versions).sort()).toEqual([tags[a.name]!.v1!, tag2].sort());
      const status = await pier(a, ['status', 'fleet', '--json']);
      expect(status.code, why(status)).toBe(0);
      expect(status.stdout.match(new RegExp(`"${tags[a.name]!.v1!}"`, 'g'))?.length ?? 0).toBeGreaterThanOrEqual(fleet.hosts);
      for (let i = 0; i < 4; i++) expect((await get(`127.0.0.1:${fleet.lbPort}`, a.health)).body.version).toBe(tags[a.name]!.v1);
      await resetHosts();
    }, 600_000);
  });
}

describe.sequential('after the three apps', () => {
  const node = APPS[2]!;

  it('a failing jest test is a gate (exit 1) naming the count; nothing is published', async () => {
    const f = join(dirOf(node), 'test', 'app.test.js');
    writeFileSync(f, readFileSync(f, 'utf8').replace("toEqual({ status: 'ok', version: '9.9.9' })", "toEqual({ status: 'ok', version: 'other' })"));
    await commitAll(dirOf(node), 'a broken test');
    const r = await pier(node, ['ci', '--allow-missing-scanner', '--json']);
    expect(r.code, why(r)).toBe(1);
    expect(stage(r, 'test')).toMatchObject({ status: 'failed', figures: { runner: 'jest', fail: 1, pass: 3 } });
    expect(stage(r, 'publish')?.status ?? 'not run').not.toBe('passed');
  }, 420_000);

  it('builds keep the newest 3 images of the app: older pier tags, registry-prefixed too, are removed', async () => {
    // The fix: the test file as before plus a note (other bytes than release 2: a fourth image).
    const f = join(dirOf(node), 'test', 'app.test.js');
    writeFileSync(f, `${readFileSync(f, 'utf8').replace("version: 'other' })", "version: '9.9.9' })")}\n// fixed\n`);
    await commitAll(dirOf(node), 'fix the test');
    const r = await pier(node, ['build', '--json']);
    expect(r.code, why(r)).toBe(0);
    // Four runtime images now exist by build time: v1 (ci), v2 (publish), the broken-test build, this one.
    const v1 = tags[node.name]!.v1!;
    const registryRef = `127.0.0.1:${fleet.registryPort}/${node.name}:${v1}`;
    expect(stage(r, 'build').figures.prunedTags).toEqual(expect.arrayContaining([`${node.name}:${v1}`, registryRef]));
    const have = (await exec(['docker', 'image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'label=pier.app=todo-api'])).stdout.split('\n');
    expect(have).not.toContain(`${node.name}:${v1}`);
    expect(have).not.toContain(registryRef);
    expect(have).toContain(`${node.name}:${tags[node.name]!.v2!}`);
    expect(have).toContain(stage(r, 'build').figures.image);
  }, 420_000);

  it('two apps\' dev stacks run at once: own project, network and port each; env down refuses the other app\'s project', async () => {
    const [py, go] = [APPS[0]!, APPS[1]!];
    const ups = await Promise.all([py, go].map((a) => pier(a, ['env', 'up', 'dev', '--json'], { APP_PORT: '0' })));
    for (const u of ups) expect(u.code, why(u)).toBe(0);
    const [pyAddr, goAddr] = await Promise.all([devAddress(py), devAddress(go)]);
    expect(pyAddr).not.toBe(goAddr);
    expect((await get(pyAddr, '/healthz')).body.status).toBe('ok');
    expect((await get(goAddr, '/')).body.status).toBe('ok');
    expect(await projectLeftovers('notes-dev')).toEqual(expect.arrayContaining(['network notes-dev_default', 'volume notes-dev_data']));
    expect(await projectLeftovers('counter-dev')).toEqual(expect.arrayContaining(['network counter-dev_default']));
    // From the Go app's repo, pointed at the Flask app's project: refused, nothing touched.
    const wrong = await pier(go, ['env', 'down', 'dev', '--project', 'notes-dev']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/compose project notes-dev holds containers of another app: notes-dev-app-1 \(app notes/);
    expect((await get(pyAddr, '/healthz')).status).toBe(200);
    // Down one: the other keeps serving.
    const downGo = await pier(go, ['env', 'down', 'dev', '--volumes']);
    expect(downGo.code, why(downGo)).toBe(0);
    expect(await projectLeftovers('counter-dev')).toEqual([]);
    expect((await get(pyAddr, '/healthz')).status).toBe(200);
    const downPy = await pier(py, ['env', 'down', 'dev', '--volumes']);
    expect(downPy.code, why(downPy)).toBe(0);
    expect(await projectLeftovers('notes-dev')).toEqual([]);
  }, 420_000);
});
