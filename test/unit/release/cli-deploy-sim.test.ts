/**
 * The CLI paths of the deploy's gates on the in-memory simulated hosts (test/sim), in virtual
 * time: `pier deploy <env>` with deploy.guard configured (and `--no-guard`), `pier guard <env>`,
 * and `pier deploy production` under deploy.requirePassed: staging (and `--no-require-passed`),
 * each through its verb's `run` with a real project on disk (pier.yaml + environments/*.yaml).
 * Only the SSH transport is swapped for the simulator's (one fleet per environment). The hosts' proxies
 * log traffic as virtual time passes: 3 requests a second per host to whatever each serves, 10 %
 * of them failing while `failing(t)` says so (t: seconds since the guard started watching).
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Transport } from '../../../src/deploy/ssh.ts';
import { IMAGE_REPO, PROXY_IMAGE, REGISTRY, SimFleet } from '../../sim/fleet.ts';
import { withVirtualTime } from '../../sim/harness.ts';
import { newHostState } from '../../sim/host.ts';

const sim = vi.hoisted(() => ({ transports: {} as Record<string, Transport> }));
// The verbs resolve their target from the project's files as always; only the transport is the simulator's.
vi.mock('../../../src/cli/deploy-common.ts', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../../src/cli/deploy-common.ts')>();
  return {
    ...orig,
    targetFor: (...a: Parameters<typeof orig.targetFor>) => {
      const t = orig.targetFor(...a);
      return { ...t, auth: { ...t.auth, transport: sim.transports[t.envName] } };
    },
  };
});

const { run: deployCli } = await import('../../../src/cli/deploy.ts');
const { run: guardCli } = await import('../../../src/cli/guard.ts');
const { run: checksCli } = await import('../../../src/cli/checks.ts');

const HOSTS = ['web1', 'web2', 'web3'];
const DIGEST: Record<string, string> = { v1: `sha256:${'1'.repeat(64)}`, v2: `sha256:${'2'.repeat(64)}`, v3: `sha256:${'3'.repeat(64)}` };
const ACCESS_LOG = '/var/lib/pier/logs/access.log';

const DEPLOY = { registry: REGISTRY, proxyImage: PROXY_IMAGE, proxyPort: 8080, dir: '/var/lib/pier', bakeSeconds: 0, drainSeconds: 0, healthTimeoutSeconds: 1, keepReleases: 3 };
const hostsOf = (names: string[]) => names.map((name, i) => ({ name, address: `10.0.0.${i + 1}`, user: 'root' }));

/** pier.yaml + environments/production.yaml (deploy settings merged in) and staging.yaml (one host; its check fails v3). */
function writeProject(deploy: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), 'pier-cli-deploy-'));
  mkdirSync(join(root, 'environments'));
  writeFileSync(join(root, 'pier.yaml'), stringify({ app: { name: 'api', image: IMAGE_REPO, port: 3000, health: { path: '/health' }, test: { command: ['true'] } } }));
  writeFileSync(join(root, 'environments', 'production.yaml'), stringify({ hosts: hostsOf(HOSTS), deploy: { ...DEPLOY, ...deploy } }));
  writeFileSync(join(root, 'environments', 'staging.yaml'), stringify({
    hosts: hostsOf(['stage1']), deploy: DEPLOY,
    checks: [{ name: 'e2e', command: [process.execPath, '-e', 'process.exit(process.env.PIER_VERSION === "v3" ? 1 : 0)'], timeoutSeconds: 30 }],
  }));
  return join(root, 'pier.yaml');
}

interface World {
  fleet: SimFleet;
  /** Virtual ms when the guard started watching (from its first log line). */
  guardStart?: number;
  stderr: string[];
}

/**
 * The fleet, its transport (which first writes the traffic of the virtual time since the last
 * command into every host's access log), and stderr captured (the guard's start time read from it).
 */
function world(failing: (t: number) => boolean, env = 'production', names = HOSTS): World {
  const registry = Object.fromEntries(Object.entries(DIGEST).map(([v, d]) => [`${REGISTRY}/${IMAGE_REPO}:${v}`, `${REGISTRY}/${IMAGE_REPO}@${d}`]));
  const fleet = new SimFleet({ hosts: names.map((n) => newHostState(n, [PROXY_IMAGE])), clock: 1, registry, health: {} });
  const w: World = { fleet, stderr: [] };
  const proc = fleet.process();
  let last: number | undefined;
  let served = 0;
  const pump = () => {
    const now = Date.now();
    last ??= now;
    for (; last + 1000 <= now; last += 1000) {
      const t = w.guardStart === undefined ? -1 : (last - w.guardStart) / 1000;
      for (const h of fleet.hosts) {
        const release = h.serving()[0]?.release;
        if (!release) continue;
        const lines = Array.from({ length: 3 }, () => JSON.stringify({ msec: last! / 1000, status: t >= 0 && failing(t) && served++ % 10 === 0 ? 500 : 200, upstream: '172.18.0.5:3000', release, request_time: 0.012 }));
        h.s.files[ACCESS_LOG] = (h.s.files[ACCESS_LOG] ?? '') + lines.join('\n') + '\n';
      }
    }
  };
  sim.transports[env] = async (target, auth) => {
    const conn = await proc.transport(target, auth);
    return { exec: (argv, opts) => (pump(), conn.exec(argv, opts)), close: () => conn.close() };
  };
  if (env !== 'production') return w;
  const capture = (chunk: unknown) => {
    const text = String(chunk);
    if (w.guardStart === undefined && /guard production: watching/.test(text)) w.guardStart = Date.now();
    w.stderr.push(text);
    return true;
  };
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => capture(`${a.join(' ')}\n`));
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  return w;
}

const servingOf = (f: SimFleet) => f.hosts.map((h) => (JSON.parse(h.s.files['/var/lib/pier/api/current.json'] ?? '{}') as { version?: string }).version);

/** The report of the one run in the project of `config` that `pick` selects. */
function reportOf(config: string, pick: (r: Report) => boolean): Report {
  const runs = join(config, '..', '.pier', 'runs');
  const all = readdirSync(runs).map((d) => JSON.parse(readFileSync(join(runs, d, 'report.json'), 'utf8')) as Report).filter(pick);
  expect(all).toHaveLength(1);
  return all[0]!;
}
interface Report {
  exitCode: number;
  requirePassed?: unknown;
  version?: string;
  command?: string;
  after?: Step[];
  steps?: Step[];
}
interface Step {
  name: string;
  status: string;
  seconds: number;
  summary: string;
  detail?: { action?: string; analysis?: { reasons: string[] } };
}

const ERROR_RATE = { window: '10m', metrics: [{ name: 'error-rate', failureCondition: 'error_rate > 5%', for: '2m' }] };

describe('pier deploy / pier guard on simulated hosts (virtual time)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    sim.transports = {};
  });

  it('pier deploy with deploy.guard: 10 % failures from a minute in, held for the for: 2m, roll every host back (exit 1)', async () => {
    const config = writeProject({ guard: ERROR_RATE });
    const w = world((t) => t >= 60);
    await withVirtualTime(async () => {
      expect(await deployCli(['production', '--version', 'v1', '--no-guard', '--config', config])).toBe(0);
      expect(await deployCli(['production', '--version', 'v2', '--config', config])).toBe(1);
    });
    expect(w.fleet.unknown).toEqual([]);
    expect(servingOf(w.fleet)).toEqual(['v1', 'v1', 'v1']);
    const r = reportOf(config, (x) => x.version === 'v2');
    expect(r.exitCode).toBe(1);
    const g = r.after!.find((s) => s.name === 'guard')!;
    expect(g.status).toBe('failed');
    expect(g.detail!.action).toBe('rolled-back');
    // First failing measurement at 70 s (covers 60..70 s), then held for 2 m: fired at 190 s, not before.
    expect(g.seconds).toBe(190);
    expect(g.detail!.analysis!.reasons).toEqual([expect.stringMatching(/^error-rate: "error_rate > 5%" held for 2m \(for: 2m\): error_rate 10\.0%, requests 90, errors 9$/)]);
    expect(w.stderr.join('')).toMatch(/guard production: rolling every host back from v2/);
    const verdicts = w.fleet.host('web2').s.files['/var/lib/pier/api/verdicts.jsonl']!.trim().split('\n').map((l) => JSON.parse(l));
    expect(verdicts).toEqual([expect.objectContaining({ kind: 'guard', ok: false, version: 'v2', digest: DIGEST.v2 })]);
  });

  it('pier deploy --no-guard: the same failures, no guard: v2 stays (exit 0, guard skipped)', async () => {
    const config = writeProject({ guard: ERROR_RATE });
    const w = world(() => true);
    await withVirtualTime(async () => {
      expect(await deployCli(['production', '--version', 'v1', '--no-guard', '--config', config])).toBe(0);
      expect(await deployCli(['production', '--version', 'v2', '--no-guard', '--config', config])).toBe(0);
    });
    expect(w.fleet.unknown).toEqual([]);
    expect(servingOf(w.fleet)).toEqual(['v2', 'v2', 'v2']);
    expect(reportOf(config, (x) => x.version === 'v2').after).toEqual([expect.objectContaining({ name: 'guard', status: 'skipped', summary: '--no-guard' })]);
    expect(w.guardStart).toBeUndefined();
    expect(w.fleet.host('web1').s.files['/var/lib/pier/api/verdicts.jsonl'] ?? '').toBe('');
  });

  it('pier guard <env>: a 1-minute burst (shorter than for: 2m) then healthy: passes (exit 0), nothing switched', async () => {
    const config = writeProject({ guard: ERROR_RATE });
    const w = world((t) => t >= 30 && t < 90);
    await withVirtualTime(async () => {
      expect(await deployCli(['production', '--version', 'v1', '--no-guard', '--config', config])).toBe(0);
      expect(await deployCli(['production', '--version', 'v2', '--no-guard', '--config', config])).toBe(0);
      expect(await guardCli(['production', '--window', '5m', '--config', config])).toBe(0);
    });
    expect(w.fleet.unknown).toEqual([]);
    expect(servingOf(w.fleet)).toEqual(['v2', 'v2', 'v2']);
    const r = reportOf(config, (x) => x.command === 'guard production');
    expect(r.exitCode).toBe(0);
    const g = r.steps!.find((s) => s.name === 'guard')!;
    expect(g).toMatchObject({ status: 'passed', seconds: 300 });
    expect(g.summary).toMatch(/✓ error-rate\s+successful\s+30 measurements \(\d+ failed/);
    // The burst was seen (failed measurements) but did not hold for 2 m.
    expect(Number(/\((\d+) failed/.exec(g.summary)![1])).toBeGreaterThan(0);
    const verdicts = w.fleet.host('web3').s.files['/var/lib/pier/api/verdicts.jsonl']!.trim().split('\n').map((l) => JSON.parse(l));
    expect(verdicts).toEqual([expect.objectContaining({ kind: 'guard', ok: true, version: 'v2', digest: DIGEST.v2 })]);
  });
});

describe('pier deploy production under deploy.requirePassed: staging (simulated hosts)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    sim.transports = {};
  });

  it('refuses, before touching a production host, a version staging never passed or failed; pulls the digest staging passed; --no-require-passed overrides', async () => {
    const config = writeProject({ requirePassed: 'staging' });
    const staging = world(() => false, 'staging', ['stage1']);
    const prod = world(() => false);
    const refusal = (argv: string[]) => deployCli([...argv, '--config', config]).then(() => undefined, (e: Error & { exitCode?: number }) => e);
    await withVirtualTime(async () => {
      // Never on staging: refused (exit 1), no command reached a production host.
      const never = await refusal(['production', '--version', 'v1']);
      expect(never?.exitCode).toBe(1);
      expect(never?.message).toBe("cannot deploy v1 to production: deploy.requirePassed says staging's checks must pass it first, and staging has no checks verdict for it");
      expect(prod.fleet.clock).toBe(1); // the simulated clock counts every host command

      // Deployed to staging, its checks passed: production gets exactly that digest.
      expect(await deployCli(['staging', '--version', 'v1', '--config', config])).toBe(0);
      expect(await checksCli(['staging', '--config', config])).toBe(0);
      expect(await deployCli(['production', '--version', 'v1', '--config', config])).toBe(0);
      expect(prod.fleet.hosts.map((h) => JSON.parse(h.s.files['/var/lib/pier/api/current.json']!).image)).toEqual(Array(3).fill(`${REGISTRY}/${IMAGE_REPO}@${DIGEST.v1}`));
      expect(reportOf(config, (x) => x.version === 'v1' && 'requirePassed' in x)).toMatchObject({ requirePassed: { env: 'staging', digest: DIGEST.v1 } });

      // v3 fails staging's checks: refused naming both environments and the digest; production untouched.
      expect(await deployCli(['staging', '--version', 'v3', '--config', config])).toBe(0);
      expect(await checksCli(['staging', '--config', config])).toBe(1);
      const clock = prod.fleet.clock;
      const failed = await refusal(['production', '--version', 'v3']);
      expect(failed?.exitCode).toBe(1);
      expect(failed?.message).toMatch(new RegExp(`^cannot deploy v3 \\(${DIGEST.v3}\\) to production: deploy.requirePassed: staging's checks failed for it \\(.*\\): e2e failed \\(exit 1\\)$`));
      expect(prod.fleet.clock).toBe(clock);

      // The explicit override deploys it, and says so.
      expect(await deployCli(['production', '--version', 'v3', '--no-require-passed', '--config', config])).toBe(0);
    });
    expect(servingOf(prod.fleet)).toEqual(['v3', 'v3', 'v3']);
    expect(prod.stderr.join('')).toMatch(/! deploy.requirePassed: staging NOT consulted \(--no-require-passed\): v3 may not have passed staging's checks/);
    expect(reportOf(config, (x) => x.version === 'v3' && 'requirePassed' in x)).toMatchObject({ requirePassed: { env: 'staging', overridden: true } });
    expect([...staging.fleet.unknown, ...prod.fleet.unknown]).toEqual([]);
  });
});
