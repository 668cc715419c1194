/**
 * Deterministic fault injection over the deploy code (test/sim/): every crash point of rolling,
 * blue-green, canary and rollback on 3 simulated hosts, each fault kind, each followed by the
 * operator's recovery. The invariants (docs/operations.md) must hold in every case; the cases that
 * still break one on this branch are listed in known-violations.json, and the test checks that list
 * EXACTLY: a new violation fails, and so does a known one that no longer happens (remove it from
 * the list: `npm run bench:faults -- --write-known test/unit/deploy-faults/known-violations.json`).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Progress } from '../../../src/deploy/progress.ts';
import { installVirtualClock, type VirtualClock } from '../../sim/clock.ts';
import { SimFleet } from '../../sim/fleet.ts';
import { caseKey, describe as describeCase, HOSTS, runCase, SCENARIOS, seed, sweep, violationMap } from '../../sim/harness.ts';
import { SimHost, UnknownCommandError, newHostState, parseProxyConf } from '../../sim/host.ts';
import { renderProxyConf } from '../../../src/deploy/commands/nginx.ts';
import { scriptName, staleScripts } from '../../sim/scripts.ts';
import { deploy, rollback } from '../../sim/verbs.ts';
import { computeDora, parseAuditLine } from '../../../src/stats/dora.ts';
import * as host from '../../../src/deploy/commands/host.ts';

const known = JSON.parse(readFileSync(new URL('./known-violations.json', import.meta.url), 'utf8')) as Record<string, string>;
const quiet = () => new Progress(() => undefined);

let clock: VirtualClock;
let start: Awaited<ReturnType<typeof seed>>;
beforeAll(async () => {
  clock = installVirtualClock();
  start = await seed();
});
afterAll(() => clock.uninstall());

describe('the simulated host', () => {
  it('implements exactly the scripts the command builders produce today', () => {
    expect(staleScripts()).toEqual([]);
  });

  it('throws on a command it was not taught, and the fleet records it', async () => {
    const h = new SimHost(newHostState('web1', []), SimFleet.create(['web1'], []).world);
    expect(() => h.exec(['docker', 'frobnicate'])).toThrow(UnknownCommandError);
    expect(() => h.exec(['sh', '-c', 'rm -rf "$1"', 'sh', '/'])).toThrow(/unknown sh -c script/);
    const fleet = SimFleet.create(['web1'], []);
    await expect(fleet.exec(fleet.process(), 'web1', ['docker', 'run', '--privileged', 'x'])).rejects.toThrow(/unknown docker run flag --privileged/);
    expect(fleet.unknown).toHaveLength(1);
  });

  it('reads the proxy config nginx.ts renders (shares included); a config without targets is rejected', () => {
    const conf = renderProxyConf({ upstreams: [{ address: 'api-v2-aaaaaa:3000', release: 'v2', weight: 75 }, { address: 'api-v3-bbbbbb:3000', release: 'v3', weight: 25 }] });
    expect(parseProxyConf(conf)).toEqual([{ address: 'api-v2-aaaaaa:3000', share: '75%' }, { address: 'api-v3-bbbbbb:3000' }]);
    expect(parseProxyConf(renderProxyConf({ upstreams: [{ address: 'api-v2-aaaaaa:3000', release: 'v2' }] }))).toEqual([{ address: 'api-v2-aaaaaa:3000' }]);
    expect(parseProxyConf('upstream pier_app {\n    server 172.18.0.5:3000 max_fails=0;\n}\n')).toBeUndefined();
  });

  it('takes the lock atomically and shows the holder to the next taker', () => {
    const h = new SimHost(newHostState('web1', []), SimFleet.create(['web1'], []).world);
    expect(h.exec(host.acquireLock('/var/lib/pier/lock', '{"run":"a"}')).code).toBe(0);
    const second = h.exec(host.acquireLock('/var/lib/pier/lock', '{"run":"b"}'));
    expect(second).toMatchObject({ code: host.LOCK_HELD_EXIT, stdout: '{"run":"a"}\n' });
    expect(h.exec(host.releaseLock('/var/lib/pier/lock', 'b')).code).toBe(1);
    expect(h.exec(host.releaseLock('/var/lib/pier/lock', 'a')).code).toBe(0);
    expect(h.exec(host.readLock('/var/lib/pier/lock')).stdout).toBe('');
  });

  it('a crashed process carries out exactly k commands, then hangs forever', async () => {
    const fleet = new SimFleet(start);
    const proc = fleet.process({ kind: 'crash', k: 7 });
    const out = await proc.run(() => deploy(fleet.target(proc), { version: 'v3', progress: quiet() }));
    expect(out.killed).toBe(true);
    expect(proc.log).toHaveLength(7);
  });
});

describe('health failures (virtual time: the health timeout costs nothing)', () => {
  for (const mode of ['never', 'dies'] as const) {
    it(`a release that is ${mode === 'never' ? 'never healthy' : 'dying after its first answer'} is rolled back with every invariant kept`, async () => {
      const fleet = new SimFleet(start);
      fleet.setHealth('v3', mode);
      const t0 = performance.now();
      const r = await deploy(fleet.target(fleet.process(), { healthTimeoutSeconds: 60 }), { version: 'v3', progress: quiet() });
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(r.ok).toBe(false);
      expect(fleet.violations).toEqual([]);
      for (const name of HOSTS) {
        const h = fleet.host(name);
        expect(h.serving().map((s) => s.release)).toEqual(['v2']);
        expect(h.s.dirs).not.toContain('/var/lib/pier/lock');
      }
    });
  }
});

describe('a deploy that switches hosts back records it for pier stats', () => {
  it('audit log: the failure\'s detection (stamped when found), then the automatic rollback with its duration, then the failure; pier stats reads them', async () => {
    const fleet = new SimFleet(start);
    fleet.setHealth('v3', 'dies');
    const r = await deploy(fleet.target(fleet.process(), { healthTimeoutSeconds: 60 }), { version: 'v3', progress: quiet() });
    expect(r.ok).toBe(false);
    const switchedBack = r.hosts.filter((h) => h.status === 'rolled-back').map((h) => h.host);
    expect(switchedBack.length).toBeGreaterThan(0);
    const audit = fleet.host('web1').s.files['/var/lib/pier/audit.log']!.trim().split('\n').map(parseAuditLine).filter((e) => e?.run === r.run);
    expect(audit.map((e) => e!.message.replace(/:.*| web.*/, ''))).toEqual(['deploy v3 started (strategy rolling)', 'deploy v3 failure detected', 'rollback (automatic, deploy v3 failed)', 'deploy v3 failed']);
    const [started, detected, auto] = audit;
    expect(auto!.message).toMatch(new RegExp(`^rollback \\(automatic, deploy v3 failed\\) ${switchedBack.map((h) => `${h}:v3->v2`).join(' ')} in \\d+\\.\\d\\ds$`));
    expect(detected!.at).toBeGreaterThanOrEqual(started!.at);
    expect(detected!.at).toBeLessThanOrEqual(auto!.at);
    const s = computeDora('production', HOSTS.map((h) => ({ host: h, releases: [], audit: fleet.host(h).s.files['/var/lib/pier/audit.log']!.trim().split('\n') })), new Map(), { since: 0, until: Date.now() + 1 });
    expect(s.rollbacks).toMatchObject({ automatic: 1, byCommand: 0 });
    expect(s.rollbackSeconds.count).toBe(1);
  });
});

describe('every crash point', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: the invariants hold at every k, except exactly the known violations`, async () => {
      const r = await sweep(start, scenario);
      expect(r.n).toBeGreaterThan(30);
      expect(r.cases).toHaveLength(1 + 3 * r.n + HOSTS.length);
      expect(r.cases.flatMap((c) => c.unknown)).toEqual([]);
      const clean = r.cases.find((c) => !c.fault)!;
      expect(describeCase(clean)).toEqual([]);
      const seen = violationMap([r]);
      const expected = Object.fromEntries(Object.entries(known).filter(([k]) => k.startsWith(`${scenario} `)));
      // On failure the diff names each case (scenario kind k=K) and the invariants it broke.
      expect(seen).toEqual(expected);
    });
  }

  it('runs one case deterministically (same commands, same violations twice)', async () => {
    const a = await runCase(start, 'rolling', { kind: 'crash', k: 40 });
    const b = await runCase(start, 'rolling', { kind: 'crash', k: 40 });
    expect(caseKey(a)).toBe('rolling crash k=40');
    expect(a.commands).toBe(40);
    const shape = (c: typeof a) => [c.host, ...c.violations.map((v) => `${v.invariant} ${v.host} ${v.phase}`)];
    expect(shape(b)).toEqual(shape(a));
  });
});

describe('pier rollback returns once every host is switched (the old release drains host-side)', () => {
  it('leaves the stop to a host timer, reads each record once, and the timer then stops the old release', async () => {
    const fleet = new SimFleet(start);
    const proc = fleet.process();
    const r = await rollback(fleet.target(proc, { drainSeconds: 5 }), { progress: quiet() });
    expect(r.ok).toBe(true);
    for (const h of fleet.hosts) {
      const v2 = Object.values(h.s.containers).find((c) => c.labels['pier.release'] === 'v2')!;
      expect(h.serving().map((s) => s.release)).toEqual(['v1']);
      // Still running when the command returned: no drain and no stop on the command's path.
      expect(v2.running).toBe(true);
      expect(h.s.scheduled).toEqual([expect.objectContaining({ seconds: 5, container: v2.name })]);
      const cmds = proc.log.filter((c) => c.host === h.name).map((c) => c.argv);
      expect(cmds.some((a) => a[0] === 'docker' && a[1] === 'stop')).toBe(false);
      // reconcile's reads are the decision's reads: current.json and the history once each.
      for (const file of ['/var/lib/pier/api/current.json', '/var/lib/pier/api/releases.jsonl']) {
        expect(cmds.filter((a) => a[0] === 'sh' && a.at(-1) === file && a[2]!.startsWith('cat ')).length, `${h.name} reads of ${file}`).toBe(1);
      }
    }
    fleet.elapse();
    for (const h of fleet.hosts) expect(Object.values(h.s.containers).find((c) => c.labels['pier.release'] === 'v2')!.running).toBe(false);
    expect(fleet.violations).toEqual([]);
  });

  it('the timer waits while a deploy holds the lock, and skips a release that serves again', async () => {
    const fleet = new SimFleet(start);
    expect((await rollback(fleet.target(fleet.process(), { drainSeconds: 5 }), { progress: quiet() })).ok).toBe(true);
    const h = fleet.host('web1');
    h.s.dirs.push('/var/lib/pier/lock');
    fleet.elapse();
    expect(h.s.scheduled).toHaveLength(1);
    h.s.dirs = h.s.dirs.filter((d) => d !== '/var/lib/pier/lock');
    // Back to v2 before the timer could act: it must leave v2 running.
    expect((await rollback(fleet.target(fleet.process()), { to: 'v2', progress: quiet() })).ok).toBe(true);
    fleet.elapse();
    expect(h.serving().map((s) => s.release)).toEqual(['v2']);
    expect(fleet.violations).toEqual([]);
  });
});

describe('the rollback window: the previous release keeps running (not serving) after a deploy', () => {
  const health = (argv: readonly string[]) => argv[0] === 'sh' && scriptName(argv[2]!) === 'healthProbe';
  const starts = (argv: readonly string[]) => argv[0] === 'docker' && argv[1] === 'start';
  const release = (h: SimHost, v: string) => Object.values(h.s.containers).filter((c) => c.labels['pier.release'] === v);

  it('a rolling deploy leaves v2 running without traffic and a host timer that stops it after deploy.rollbackWindowSeconds', async () => {
    const fleet = new SimFleet(start);
    expect((await deploy(fleet.target(fleet.process(), { rollbackWindowSeconds: 300, drainSeconds: 2 }), { version: 'v3', progress: quiet() })).ok).toBe(true);
    for (const h of fleet.hosts) {
      const [v2] = release(h, 'v2');
      expect(h.serving().map((s) => s.release)).toEqual(['v3']);
      expect(v2!.running).toBe(true);
      expect(h.s.scheduled).toEqual([expect.objectContaining({ seconds: 300, container: v2!.name })]);
    }
    fleet.elapse();
    for (const h of fleet.hosts) expect(release(h, 'v2')[0]!.running).toBe(false);
    expect(fleet.violations).toEqual([]);
  });

  it('lists each host\'s containers once per deploy (pruning reuses the listing taken under the lock) and prunes beyond keepReleases', async () => {
    const fleet = new SimFleet(start);
    let proc = fleet.process();
    for (const v of ['v3', 'v1']) {
      proc = fleet.process();
      expect((await deploy(fleet.target(proc, { keepReleases: 2 }), { version: v, progress: quiet() })).ok).toBe(true);
      fleet.elapse(); // the rollback window is over: the release left is stopped (a running one is never pruned)
    }
    for (const h of fleet.hosts) {
      const cmds = proc.log.filter((c) => c.host === h.name).map((c) => c.argv);
      expect(cmds.filter((a) => a[0] === 'docker' && a[1] === 'ps')).toHaveLength(1);
      // v1 (serving, a new start) and v3 (previous) kept; v2 and the first v1, stopped and older, removed.
      expect(Object.values(h.s.containers).filter((c) => c.labels['pier.app']).map((c) => c.labels['pier.release']).sort()).toEqual(['v1', 'v3']);
    }
    expect(fleet.violations).toEqual([]);
  });

  it('with rollbackWindowSeconds 0 the previous release is stopped after the drain, as before', async () => {
    const fleet = new SimFleet(start);
    expect((await deploy(fleet.target(fleet.process(), { rollbackWindowSeconds: 0, drainSeconds: 2, bakeSeconds: 0 }), { version: 'v3', progress: quiet() })).ok).toBe(true);
    for (const h of fleet.hosts) expect(h.s.scheduled).toEqual([expect.objectContaining({ seconds: 2 })]);
  });

  it('pier rollback within the window is a proxy switch: one health probe per host, no start', async () => {
    const fleet = new SimFleet(start.warm);
    for (const h of fleet.hosts) expect(release(h, 'v1')[0]!.running).toBe(true);
    const proc = fleet.process();
    const r = await rollback(fleet.target(proc), { progress: quiet() });
    expect(r.ok).toBe(true);
    for (const h of fleet.hosts) {
      const cmds = proc.log.filter((c) => c.host === h.name).map((c) => c.argv);
      expect(h.serving().map((s) => s.release)).toEqual(['v1']);
      expect(cmds.filter(health)).toHaveLength(1);
      expect(cmds.filter(starts)).toEqual([]);
    }
    expect(fleet.violations).toEqual([]);
  });

  it('a warm release that does not answer 200 is not switched to on faith: started and health-waited as before, and refused', async () => {
    const fleet = new SimFleet(start.warm);
    fleet.setHealth('v1', 'never');
    // The release went bad while it waited (e.g. its database went away): the gate still applies.
    for (const h of fleet.hosts) release(h, 'v1')[0]!.health = 'never';
    const proc = fleet.process();
    const r = await rollback(fleet.target(proc, { healthTimeoutSeconds: 2 }), { progress: quiet() });
    expect(r.ok).toBe(false);
    for (const h of fleet.hosts) {
      expect(h.serving().map((s) => s.release)).toEqual(['v2']);
      const cmds = proc.log.filter((c) => c.host === h.name).map((c) => c.argv);
      expect(cmds.filter(starts)).toHaveLength(1);
      expect(cmds.filter(health).length).toBeGreaterThan(2);
    }
    expect(fleet.violations).toEqual([]);
  });

  it('after the window (timer fired, v1 stopped) pier rollback starts v1 and waits for its health', async () => {
    const fleet = new SimFleet(start);
    const proc = fleet.process();
    expect((await rollback(fleet.target(proc), { progress: quiet() })).ok).toBe(true);
    for (const h of fleet.hosts) {
      const cmds = proc.log.filter((c) => c.host === h.name).map((c) => c.argv);
      expect(cmds.filter(starts)).toHaveLength(1);
      expect(h.serving().map((s) => s.release)).toEqual(['v1']);
    }
    expect(fleet.violations).toEqual([]);
  });
});

describe('a host reboot (Docker hands out new container addresses)', () => {
  it('the proxy serves the same release again by itself: its targets are container names, not addresses', async () => {
    const fleet = new SimFleet(start);
    expect((await deploy(fleet.target(fleet.process()), { version: 'v3', progress: quiet() })).ok).toBe(true);
    fleet.elapse();
    const h = fleet.host('web2');
    const served = h.serving()[0]!.container;
    const ipBefore = h.s.containers[served]!.ip;
    h.reboot();
    expect(h.s.containers[served]!.ip).not.toBe(ipBefore);
    expect(h.serving()).toEqual([{ release: 'v3', container: served }]);
    const viaProxy = h.exec(host.httpStatus(`http://127.0.0.1:${fleet.world.proxyPort}/version`, 3));
    expect(viaProxy.stdout).toBe('200');
    // The address the proxy would have been pointed at before is gone or another container's now.
    const atOldAddress = Object.values(h.s.containers).find((c) => c.ip === ipBefore);
    expect(atOldAddress?.name).not.toBe(served);
  });
});

describe('records reconciled with the proxy config (src/deploy/reconcile.ts)', () => {
  const CUR = '/var/lib/pier/api/current.json';
  const LOG = '/var/lib/pier/api/releases.jsonl';

  it('a host switched to v3 whose records were never written is recorded as serving v3, so rollback goes to v2', async () => {
    const fleet = new SimFleet(start);
    const before = { cur: fleet.host('web1').s.files[CUR], log: fleet.host('web1').s.files[LOG] };
    const r = await deploy(fleet.target(fleet.process()), { version: 'v3', progress: quiet() });
    expect(r.ok).toBe(true);
    // What a process that died between web1's proxy switch and its records leaves behind.
    fleet.host('web1').s.files[CUR] = before.cur!;
    fleet.host('web1').s.files[LOG] = before.log!;
    const rb = await rollback(fleet.target(fleet.process()), { progress: quiet() });
    expect(rb.ok).toBe(true);
    for (const h of fleet.hosts) {
      expect(h.serving().map((s) => s.release)).toEqual(['v2']);
      expect(JSON.parse(h.s.files[CUR]!).container).toBe(h.serving()[0]!.container);
    }
    const events = fleet.host('web1').s.files[LOG]!.trim().split('\n').map((l) => JSON.parse(l) as { event: string; version: string });
    expect(events.slice(-2).map((e) => `${e.event} ${e.version}`)).toEqual(['reconciled v3', 'rollback v2']);
  });

  it('a history behind current.json catches up before a deploy decides "unchanged"', async () => {
    const fleet = new SimFleet(start);
    const log = fleet.host('web2').s.files[LOG]!;
    expect((await deploy(fleet.target(fleet.process()), { version: 'v3', progress: quiet() })).ok).toBe(true);
    // Died between current.json and the history line.
    fleet.host('web2').s.files[LOG] = log;
    const again = await deploy(fleet.target(fleet.process()), { version: 'v3', progress: quiet() });
    expect(again.hosts.map((h) => h.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    const last = JSON.parse(fleet.host('web2').s.files[LOG]!.trim().split('\n').at(-1)!) as { event: string; container: string };
    expect(last).toMatchObject({ event: 'reconciled', container: fleet.host('web2').serving()[0]!.container });
  });
});

describe('--lock-wait (virtual time)', () => {
  const LOCK = '/var/lib/pier/lock';
  const hold = (fleet: SimFleet) => {
    const h = fleet.host('web2');
    h.s.dirs.push(LOCK);
    h.s.files[`${LOCK}/info.json`] = '{"by":"ann","run":"other-run","version":"v9","at":"t","pid":1,"command":"deploy"}\n';
  };

  it('gives up at the deadline naming the holder, and takes nothing', async () => {
    const fleet = new SimFleet(start);
    hold(fleet);
    await expect(deploy(fleet.target(fleet.process()), { version: 'v3', lockWaitSeconds: 3, progress: quiet() })).rejects.toThrow(/web2 is held by ann \(deploy v9, run other-run/);
    expect(fleet.hosts.filter((h) => h.s.dirs.includes(LOCK)).map((h) => h.name)).toEqual(['web2']);
  });

  it('asks every host at once first; after a refusal, gives back what it took and goes in host order', async () => {
    const fleet = new SimFleet(start);
    hold(fleet);
    const proc = fleet.process();
    await expect(deploy(fleet.target(proc), { version: 'v3', lockWaitSeconds: 2, progress: quiet() })).rejects.toThrow(/web2 is held by ann/);
    const locks = proc.log.filter((c) => c.argv[0] === 'sh' && scriptName(c.argv[2]!) === 'acquireLock').map((c) => c.host);
    // Attempt 1: all three (web3 before anything is given back); attempts 2 and 3: web1, then the refusal on web2.
    expect(locks).toEqual(['web1', 'web2', 'web3', 'web1', 'web2', 'web1', 'web2']);
    expect(fleet.hosts.filter((h) => h.s.dirs.includes(LOCK)).map((h) => h.name)).toEqual(['web2']);
  });

  it('goes ahead once the holder lets go within the wait', async () => {
    const fleet = new SimFleet(start);
    hold(fleet);
    const { setTimeout: later } = await import('node:timers/promises');
    const letGo = later(2500).then(() => {
      const h = fleet.host('web2');
      h.s.dirs = h.s.dirs.filter((d) => d !== LOCK);
      delete h.s.files[`${LOCK}/info.json`];
    });
    const r = await deploy(fleet.target(fleet.process()), { version: 'v3', lockWaitSeconds: 10, progress: quiet() });
    await letGo;
    expect(r.ok).toBe(true);
    expect(fleet.hosts.map((h) => h.serving()[0]?.release)).toEqual(['v3', 'v3', 'v3']);
  });
});
