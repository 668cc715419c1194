/**
 * Deploy failure paths on 3 simulated hosts with the real CLI (issue 11, "Defects found"): the
 * rollback target from history, a re-run deploy never removing the serving container, the lock
 * released on a corrupt record, the env file parsed by pier, emergency verbs with a `%` in a URL.
 * One fleet for the whole file; scenarios in order, each starting from the state the last left.
 * The env file carries quotes, `export`, a comment and `DATABASE_URL=...50%off...` throughout.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { exec } from '../../src/util/exec.ts';
import { poll } from '../../src/util/poll.ts';
import { buildTestApp, writeProject, type Fleet } from '../helpers/fleet.ts';
import { runPier } from '../helpers/pier.ts';
import { useFleet } from '../helpers/use-fleet.ts';

let fleet: Fleet;
let config: string;
const ENV = {
  DATABASE_URL: '"postgres://api:50%off@db/api"',
  'export FEATURE_X': '1',
  GREETING: 'hello # not part of the value',
};

interface Run {
  code: number | null;
  out: string;
  err: string;
}

const running = new Set<ChildProcess>();

/** Run the real CLI against the fleet project. */
async function pier(args: string[], o: { onStderr?: (all: string, kill: () => void) => void; config?: string } = {}): Promise<Run> {
  let child: ChildProcess | undefined;
  const r = await runPier([...args, '--config', o.config ?? config], {
    env: { PIER_DEPLOYER: 'failures-test' },
    timeoutMs: 600_000,
    onSpawn: (c) => running.add((child = c)),
    ...(o.onStderr ? { onStderr: (all: string, c: ChildProcess) => o.onStderr!(all, () => c.kill('SIGKILL')) } : {}),
  });
  running.delete(child!);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

// A test that timed out must not leave a deploy running into the next one.
afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});

const hostIds = () => fleet.hosts.map((h) => h.name);
const current = async (host: string) => JSON.parse(await fleet.hostExec(host, ['cat', '/var/lib/pier/deploy-app/current.json'])) as { version: string; container: string };
const servingAll = async () => Promise.all(hostIds().map(async (h) => (await current(h)).version));
/** What each host's proxy answers on /version (through its own nginx, inside the host). */
const proxyVersion = async (host: string) => {
  const r = await exec(['docker', 'exec', fleet.hosts.find((h) => h.name === host)!.container, 'curl', '-s', '--max-time', '3', 'http://127.0.0.1:80/version'], { nothrow: true });
  return r.code === 0 ? ((JSON.parse(r.stdout) as { version: string }).version ?? '?') : `no answer (${r.code})`;
};
const lockFree = async () => (await pier(['lock', 'status', 'production'])).code === 0;

// rollbackWindowSeconds 0: a replaced release stops once drained, as these failure paths assume
// (one running release per host); the window itself is tested in deploy-strategies and the simulator.
const PROJECT = { bakeSeconds: 0, drainSeconds: 0, healthTimeoutSeconds: 6, env: ENV, deploy: { rollbackWindowSeconds: 0 } };

useFleet(
  {
    count: 3,
    alongside: () => [buildTestApp('pier-test/deploy-app:good'), buildTestApp('pier-test/deploy-app:never', { neverHealthy: true }), buildTestApp('pier-test/deploy-app:alt', { failAfterSeconds: 3600 })],
  },
  async (f) => {
    fleet = f;
    await Promise.all(['v1', 'v2', 'v3', 'v4'].map((v) => fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${v}`)));
    config = writeProject(fleet, PROJECT);
  },
);

describe.sequential('deploy failure paths on 3 simulated hosts (real CLI)', () => {
  it('v1, v2, rollback (-> v1), v3, rollback: back to v1, not to v2 which was rolled back as bad', async () => {
    for (const v of ['v1', 'v2']) expect((await pier(['deploy', 'production', '--version', v])).code).toBe(0);
    const r1 = await pier(['rollback', 'production']);
    expect(r1.code, r1.err).toBe(0);
    expect(await servingAll()).toEqual(['v1', 'v1', 'v1']);
    expect((await pier(['deploy', 'production', '--version', 'v3'])).code).toBe(0);
    const r2 = await pier(['rollback', 'production']);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.err).toMatch(/rolled back to v1/);
    expect(await servingAll()).toEqual(['v1', 'v1', 'v1']);
    expect(await proxyVersion('web3')).toBe('v1');
  }, 900_000);

  it('the env file reaches the app as pier env reads it: no quotes, no comment, export handled; one env file per app', async () => {
    const c = (await current('web1')).container;
    const env = JSON.parse(await fleet.hostExec('web1', ['docker', 'inspect', '--format', '{{json .Config.Env}}', c])) as string[];
    expect(env).toEqual(expect.arrayContaining(['DATABASE_URL=postgres://api:50%off@db/api', 'FEATURE_X=1', 'GREETING=hello']));
    // One env file per app, uploaded 0600 for the deploy and deleted when it ends (issue 14): the
    // release keeps its environment in its container config only.
    expect(await fleet.hostExec('web1', ['sh', '-c', 'ls -A /var/lib/pier/deploy-app/env 2>/dev/null | wc -l'])).toBe('0');
  }, 120_000);

  it('status, releases and lock release work with DATABASE_URL=...50%off... (no URIError)', async () => {
    const s = await pier(['status', 'production']);
    expect(s.code, s.err).toBe(0);
    expect(s.out).toMatch(/web1: v1 healthy/);
    for (const args of [['releases', 'production'], ['lock', 'release', 'production']]) {
      const r = await pier(args);
      expect(r.code, r.err).toBe(0);
      expect(r.err).not.toMatch(/URIError|\n\s+at /);
    }
  }, 300_000);

  it('bad input refused before any host changes: multi-line env value (file:line), --lock-wait abc (exit 2)', async () => {
    const envFile = join(dirname(config), 'environments', 'production.env');
    const good = Object.entries(ENV).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
    writeFileSync(envFile, `${good}CERT="a\\nb"\n`);
    try {
      const d = await pier(['deploy', 'production', '--version', 'v4']);
      expect(d.code).toBe(2);
      expect(d.err).toMatch(/environments\/production\.env:4:1: CERT: multi-line value/);
    } finally {
      writeFileSync(envFile, good);
    }
    const r = await pier(['rollback', 'production', '--lock-wait', 'abc']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--lock-wait: expected a number of seconds/);
    expect(await servingAll()).toEqual(['v1', 'v1', 'v1']);
  }, 300_000);

  it('a re-run deploy of the same version never removes the serving container; a re-published tag is not "unchanged"', async () => {
    expect((await pier(['deploy', 'production', '--version', 'v2'])).code).toBe(0);
    // Deploy v4, killed (SIGKILL) once web1 switched: web1 on v4, web2 and web3 on v2, lock held.
    const killed = await pier(['deploy', 'production', '--version', 'v4'], { onStderr: (all, kill) => /web1\s+switched/.test(all) && kill() });
    expect(killed.code).toBe(null);
    expect(await servingAll()).toEqual(['v4', 'v2', 'v2']);
    expect(await lockFree()).toBe(false);
    const served = (await current('web1')).container;
    expect((await pier(['lock', 'release', 'production'])).code).toBe(0);
    // v4 re-published with new content that never becomes healthy: deployed (not "unchanged"), fails on web1.
    await fleet.push('pier-test/deploy-app:never', 'pier-test/deploy-app:v4');
    const again = await pier(['deploy', 'production', '--version', 'v4']);
    expect(again.code, again.err).toBe(1);
    expect(again.err).toMatch(/web1: deploy-app v4 \(deploy-app-v4-[0-9a-f]{6}\) did not become healthy/);
    // web1 still serves the v4 it switched to before, from the same container.
    expect((await current('web1')).container).toBe(served);
    expect(await fleet.hostExec('web1', ['docker', 'inspect', '--format', '{{.State.Running}}', served])).toBe('true');
    expect(await proxyVersion('web1')).toBe('v4');
    expect(await lockFree()).toBe(true);
  }, 900_000);

  it('hosts disagree (web1 on v4, the rest on v2): rollback prints each host and converges on v2; web2, web3 stay', async () => {
    const r = await pier(['rollback', 'production']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/web1: serving v4, before that v2/);
    expect(r.err).toMatch(/web2: serving v2, before that v1/);
    expect(r.err).toMatch(/converging on v2/);
    expect(r.err).toMatch(/web1\s+✓ v4 -> v2/);
    expect(r.err).toMatch(/web2\s+✓ v2 -> v2 {2}\(already serving\)/);
    expect(await servingAll()).toEqual(['v2', 'v2', 'v2']);
    expect(await proxyVersion('web1')).toBe('v2');
  }, 300_000);

  it('a re-published tag with new content is deployed (compared by digest); the same content again is unchanged', async () => {
    await fleet.push('pier-test/deploy-app:alt', 'pier-test/deploy-app:v2');
    const before = (await current('web1')).container;
    const d = await pier(['deploy', 'production', '--version', 'v2']);
    expect(d.code, d.err).toBe(0);
    expect(d.err).toMatch(/web1\s+deployed\s+serving v2/);
    expect((await current('web1')).container).not.toBe(before);
    const same = await pier(['deploy', 'production', '--version', 'v2']);
    expect(same.code, same.err).toBe(0);
    expect(same.err).toMatch(/web1\s+unchanged\s+serving v2/);
  }, 600_000);

  it('a truncated current.json on web2: clear error naming host and file, no stack trace, lock released', async () => {
    const file = '/var/lib/pier/deploy-app/current.json';
    const saved = await fleet.hostExec('web2', ['cat', file]);
    await fleet.hostExec('web2', ['sh', '-c', `printf '%s' '{"version":"v2","ima' > ${file}`]);
    try {
      for (const verb of [['deploy', 'production', '--version', 'v3'], ['rollback', 'production']]) {
        const r = await pier(verb);
        expect(r.code, r.err).toBe(3);
        expect(r.err).toContain(`web2: ${file}: not valid JSON`);
        expect(r.err).not.toMatch(/SyntaxError|\n\s+at /);
        expect(await lockFree()).toBe(true);
      }
    } finally {
      await fleet.hostExec('web2', ['sh', '-c', `printf '%s\\n' '${saved}' > ${file}`]);
    }
    expect(await servingAll()).toEqual(['v2', 'v2', 'v2']);
  }, 600_000);

  it('bounded disk (issue 19): images = retained releases + proxy after a deploy; log limits; prune --dry-run changes nothing, prune removes just that; a host below the floor refused before any change', async () => {
    const repo = 'reg:5000/pier-test/deploy-app';
    const lines = (s: string) => s.split('\n').map((l) => l.trim()).filter(Boolean).sort();
    const sh = (h: string, script: string) => fleet.hostExec(h, ['sh', '-c', script]);
    const appImageIds = async (h: string) => [...new Set(lines(await sh(h, `docker image ls --no-trunc --format '{{.ID}}' ${repo}`)))];
    const appContainers = async (h: string) => lines(await sh(h, `docker ps -a --filter label=pier.app=deploy-app --format '{{.Names}} {{.State}}'`));
    const usedIds = async (h: string) => [...new Set(lines(await sh(h, `docker inspect --format '{{.Image}}' $(docker ps -aq --filter label=pier.app=deploy-app)`)))];
    /** Everything a prune or a deploy could change on every host: containers, images, audit lines, lock. */
    const snapshot = async () => Promise.all(hostIds().map(async (h) => [
      await sh(h, "docker ps -a --no-trunc --format '{{.Names}} {{.Image}} {{.State}}' | sort"),
      await sh(h, "docker image ls -a --no-trunc --format '{{.ID}} {{.Repository}} {{.Tag}}' | sort"),
      await sh(h, 'wc -l < /var/lib/pier/audit.log; ls /var/lib/pier'),
    ]));

    const d = await pier(['deploy', 'production', '--version', 'v3']);
    expect(d.code, d.err).toBe(0);
    // The retire timers have stopped the releases left (drain 0): one app container runs per host.
    await poll('old releases stopped', async () => (await Promise.all(hostIds().map(appContainers))).every((cs) => cs.filter((c) => c.endsWith(' running')).length === 1) || undefined, { timeoutMs: 30_000, intervalMs: 500 });
    for (const h of hostIds()) {
      expect(await appImageIds(h), h).toEqual(await usedIds(h));
      expect(await sh(h, `docker image inspect --format ok ${fleet.proxyImage}`)).toBe('ok');
    }
    const cur = (await current('web1')).container;
    const logConfig = { Type: 'json-file', Config: { 'max-file': '3', 'max-size': '10m' } };
    for (const c of [cur, 'pier-proxy']) expect(JSON.parse(await fleet.hostExec('web1', ['docker', 'inspect', '--format', '{{json .HostConfig.LogConfig}}', c]))).toEqual(logConfig);

    // Something to prune: an image of the app no container uses (v4, also named by another app,
    // which keeps it), and keepReleases 1 in this project.
    await sh('web1', `docker pull -q ${repo}:v4 >/dev/null && docker tag ${repo}:v4 other-app/keep:1`);
    const keepOne = writeProject(fleet, { ...PROJECT, deploy: { ...PROJECT.deploy, keepReleases: 1 } });
    const before = await snapshot();
    const dry = await pier(['prune', 'production', '--dry-run', '--json'], { config: keepOne });
    expect(dry.code, dry.err).toBe(0);
    expect(await snapshot()).toEqual(before);
    const plan = JSON.parse(dry.out) as { hosts: { host: string; containers: { name: string }[]; images: { refs: string[]; bytes: number }[]; bytes: number }[] };
    for (const h of plan.hosts) {
      const stopped = (await appContainers(h.host)).filter((c) => !c.endsWith(' running')).map((c) => c.split(' ')[0]);
      expect(h.containers.map((c) => c.name).sort(), h.host).toEqual(stopped);
    }
    const web1 = plan.hosts.find((h) => h.host === 'web1')!;
    expect(web1.images.flatMap((i) => i.refs)).toContain(`${repo}:v4`);
    expect(web1.bytes).toBeGreaterThan(1e6);

    const pruned = await pier(['prune', 'production'], { config: keepOne });
    expect(pruned.code, pruned.err).toBe(0);
    expect(pruned.out).toMatch(/web1: removed \d+ container\(s\), \d+ image\(s\)/);
    for (const h of hostIds()) {
      expect(await appContainers(h), h).toEqual([`${(await current(h)).container} running`]);
      expect(await appImageIds(h), h).toEqual(await usedIds(h));
    }
    expect(await sh('web1', 'docker image inspect --format ok other-app/keep:1')).toBe('ok');
    expect(await lockFree()).toBe(true);

    // A host below the disk floor: refused (exit 3) before anything changes on any host.
    const full = writeProject(fleet, { ...PROJECT, deploy: { ...PROJECT.deploy, minFreeMb: 100_000_000 } });
    const atRest = await snapshot();
    const refused = await pier(['deploy', 'production', '--version', 'v4'], { config: full });
    expect(refused.code, refused.err).toBe(3);
    expect(refused.err).toMatch(/preflight failed, nothing was changed/);
    expect(refused.err).toMatch(/web1: only \d+ MB free under \/var\/lib\/pier; need 100000000 MB \(deploy\.minFreeMb\)/);
    expect(refused.err).toMatch(/Docker uses images [^;]*reclaimable/);
    expect(refused.err).toMatch(/free space with pier prune production/);
    expect(await snapshot()).toEqual(atRest);
    expect(await servingAll()).toEqual(['v3', 'v3', 'v3']);
    await sh('web1', 'docker rmi other-app/keep:1 >/dev/null');
  }, 600_000);
});
