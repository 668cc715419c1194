/**
 * Crash-safety on real hosts (3 Docker-in-Docker hosts, one fleet for the file): the `pier deploy`
 * process SIGKILLed after the first host switched, then the operator's recovery (lock release +
 * rollback, or the same deploy again) under load through the front load balancer; SIGKILL mid
 * blue-green before the switch; a host restarted (`docker restart` of its container) mid-deploy.
 * The exhaustive version of these, every crash point, runs in memory: test/unit/deploy-faults/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { deploy } from '../../src/deploy/deploy.ts';
import { Progress } from '../../src/deploy/progress.ts';
import { resolveTarget, type DeployTarget } from '../../src/deploy/target.ts';
import { exec } from '../../src/util/exec.ts';
import { lockRelease, lockStatus, releases, status } from '../sim/verbs.ts';
import { buildTestApp, writeProject, type Fleet } from '../helpers/fleet.ts';
import { useFleet } from '../helpers/use-fleet.ts';
import { startLoad, type Load } from '../helpers/load.ts';
import { get } from '../helpers/http.ts';
import { runPier } from '../helpers/pier.ts';

let fleet: Fleet;
let config: string;

/** Write the project for `strategy` and return its target. */
function target(strategy: 'rolling' | 'blue-green' = 'rolling'): DeployTarget {
  config = writeProject(fleet, { bakeSeconds: 1, drainSeconds: 1 });
  const envFile = join(config, '..', 'environments', 'production.yaml');
  const env = parse(readFileSync(envFile, 'utf8'));
  env.deploy.strategy = strategy;
  // A loaded CI machine can take seconds to answer an SSH handshake.
  env.ssh.connectTimeoutSeconds = 30;
  writeFileSync(envFile, stringify(env));
  return resolveTarget(loadConfig({ configFile: config, env: 'production', vars: {} }), { by: 'crash-test@ci' });
}

interface PierRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/**
 * Run bin/pier.js; `killWhen` sees stderr so far and returns true to SIGKILL the process. The
 * helper's own kill is set past the tests' 420 s, so a SIGKILL here is always `killWhen`'s.
 */
async function pier(args: string[], killWhen?: (stderr: string) => boolean): Promise<PierRun & { killedAt?: string }> {
  let killedAt: string | undefined;
  const r = await runPier([...args, '--config', config], {
    env: { PIER_DEPLOYER: 'crash-test' },
    timeoutMs: 600_000,
    onStderr: (err, child) => {
      if (killWhen && killedAt === undefined && killWhen(err)) {
        killedAt = err;
        child.kill('SIGKILL');
      }
    },
  });
  return { code: r.code, signal: r.signal, out: r.stdout, err: r.stderr, killedAt };
}

const serving = async (t: DeployTarget) => (await status(t)).map((h) => h.serving);

async function lbVersions(n = 9): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(((await (await get(`http://127.0.0.1:${fleet.lbPort}/version`)).json()) as { version: string }).version);
  return seen;
}

/** The dead run's lock is on every host, and `pier lock status` / `pier deploy` name its holder. */
async function expectLockShown(t: DeployTarget, version: string): Promise<void> {
  const held = await lockStatus(t);
  expect(held.every((h) => h.holder?.by.startsWith('crash-test@') === true && h.holder.version === version), JSON.stringify(held)).toBe(true);
  const ls = await pier(['lock', 'status', 'production']);
  expect(ls.code).toBe(1);
  expect(ls.out).toMatch(new RegExp(`web1: locked by crash-test@\\S+ \\(deploy ${version}, run `));
  const refused = await pier(['deploy', 'production', '--version', version]);
  expect(refused.code).toBe(3);
  expect(refused.err).toMatch(/deploy lock on web1 is held by crash-test@\S+ \(deploy/);
}

// The run's pooled 3-host fleet (a host this file restarts is started again by the pool's reset).
useFleet({ count: 3, alongside: () => [buildTestApp('pier-test/deploy-app:good')] }, async (f) => {
  fleet = f;
  // One tag after the other: parallel pushes of the same layers made the registry refuse under load.
  for (const v of ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']) await fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${v}`);
  for (const version of ['v1', 'v2']) {
    const r = await deploy(target(), { version, progress: new Progress(() => undefined) });
    if (!r.ok) throw new Error(`seed deploy ${version}: ${r.error}`);
  }
});

describe.sequential('a pier process killed mid-deploy, on 3 real hosts', () => {
  let load: Load | undefined;

  // Each test checks the lock it leaves itself; a failed one must not leave the next one locked out.
  beforeEach(async () => {
    await lockRelease(target()).catch(() => undefined);
  }, 120_000);

  it('SIGKILL after web1 switched: the holder is shown; lock release + rollback bring every host back to v2, no failed request', async () => {
    const t = target();
    load = startLoad(fleet.lbPort, 40);
    const killed = await pier(['deploy', 'production', '--version', 'v3'], (e) => /web1\s+switched/.test(e));
    expect(killed.signal, killed.err).toBe('SIGKILL');
    expect(await serving(t)).toEqual(['v3', 'v2', 'v2']);
    await expectLockShown(t, 'v3');
    expect((await pier(['lock', 'release', 'production'])).code).toBe(0);
    const rb = await pier(['rollback', 'production']);
    const l = await load.stop();
    load = undefined;
    expect(rb.code, rb.err + rb.out).toBe(0);
    expect(await serving(t)).toEqual(['v2', 'v2', 'v2']);
    for (const h of await releases(t)) expect(h.releases[0]?.version, h.host).toBe('v2');
    expect((await lockStatus(t)).every((h) => !h.holder)).toBe(true);
    expect(await lbVersions()).toEqual(new Set(['v2']));
    expect(l.sent).toBeGreaterThan(100);
    expect(l.failures).toEqual([]);
  }, 420_000);

  it('SIGKILL after web1 switched, then the same deploy again: every host on v4, no failed request', async () => {
    const t = target();
    load = startLoad(fleet.lbPort, 40);
    const killed = await pier(['deploy', 'production', '--version', 'v4'], (e) => /web1\s+switched/.test(e));
    expect(killed.signal).toBe('SIGKILL');
    expect((await pier(['lock', 'release', 'production'])).code).toBe(0);
    const again = await pier(['deploy', 'production', '--version', 'v4']);
    const l = await load.stop();
    load = undefined;
    expect(again.code, again.err).toBe(0);
    expect(await serving(t)).toEqual(['v4', 'v4', 'v4']);
    expect(await lbVersions()).toEqual(new Set(['v4']));
    expect(l.failures).toEqual([]);
  }, 420_000);

  it('SIGKILL mid blue-green before the switch: no host moved; after lock release the deploy switches all', async () => {
    const t = target('blue-green');
    load = startLoad(fleet.lbPort, 40);
    const killed = await pier(['deploy', 'production', '--version', 'v5'], (e) => /web\d\s+healthy/.test(e));
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.killedAt).not.toMatch(/switched/);
    expect(await serving(t)).toEqual(['v4', 'v4', 'v4']);
    expect(await lbVersions()).toEqual(new Set(['v4']));
    await expectLockShown(t, 'v5');
    expect((await pier(['lock', 'release', 'production'])).code).toBe(0);
    const again = await pier(['deploy', 'production', '--version', 'v5']);
    const l = await load.stop();
    load = undefined;
    expect(again.code, again.err).toBe(0);
    expect(await serving(t)).toEqual(['v5', 'v5', 'v5']);
    expect(l.failures).toEqual([]);
  }, 420_000);

  // A restarted host boots with its containers at new addresses: its proxy serves again by itself
  // because it reaches releases by container name through Docker's DNS (commands/nginx.ts), and
  // release containers and the proxy come back by their restart policy.
  it('a host restarted mid-deploy: the others keep serving, its proxy serves v5 again by itself; a deploy afterwards converges', async () => {
    let t = target();
    const web2 = fleet.hosts[1]!;
    const proxyOf = async (h: (typeof fleet.hosts)[number]) =>
      (await exec(['docker', 'exec', h.container, 'curl', '--silent', '--max-time', '2', 'http://127.0.0.1:80/version'], { nothrow: true })).stdout;
    let restarting: Promise<unknown> | undefined;
    let restartedAt = 0;
    load = startLoad(fleet.lbPort, 40);
    const r = await deploy(t, {
      version: 'v6',
      progress: new Progress((line) => {
        if (!restarting && /web2\s+starting/.test(line)) {
          restartedAt = Date.now();
          restarting = exec(['docker', 'restart', '--time', '1', web2.container]);
        }
      }),
    });
    expect(restarting).toBeDefined();
    // While web2 is down, web1 and web3 serve v5 (the failed deploy switched web1 back).
    expect(r.ok).toBe(false);
    for (const h of [fleet.hosts[0]!, fleet.hosts[2]!]) expect(await proxyOf(h), h.name).toMatch(/"version":"v5"/);
    await restarting;
    // web2's own dockerd brings back the release container and the proxy (restart policies); the
    // proxy finds v5 at its new address. Bounded: 90 s from the restart on a loaded 2-core machine.
    let answer = '';
    while (Date.now() - restartedAt < 90_000) {
      answer = await proxyOf(web2);
      if (/"version":"v5"/.test(answer)) break;
      await sleep(500);
    }
    expect(answer).toMatch(/"version":"v5"/);
    console.log(`web2 served v5 again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its restart began`);
    const l = await load.stop();
    load = undefined;
    // Through the front load balancer the other hosts carried the traffic.
    expect(l.sent).toBeGreaterThan(100);
    expect(l.ok / l.sent).toBeGreaterThan(0.95);
    // A restarted container gets a new random 127.0.0.1 port for its sshd (seen: status could not
    // connect on the old one): point the project at it, wait for sshd, then recover as an operator would.
    const port = /127\.0\.0\.1:(\d+)/.exec((await exec(['docker', 'port', web2.container, '22/tcp'])).stdout)?.[1];
    expect(port).toBeDefined();
    web2.sshPort = Number(port);
    t = target();
    await expect.poll(async () => (await status(t).catch(() => [])).length, { timeout: 30_000, interval: 500 }).toBe(3);
    expect((await pier(['lock', 'release', 'production'])).code).toBe(0);
    const again = await pier(['deploy', 'production', '--version', 'v6']);
    expect(again.code, again.err).toBe(0);
    expect(await serving(t)).toEqual(['v6', 'v6', 'v6']);
    expect(await lbVersions()).toEqual(new Set(['v6']));
  }, 420_000);

  afterAll(async () => {
    await load?.stop();
  });
});
