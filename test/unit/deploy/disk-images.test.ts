/**
 * Bounded disk on hosts (issue 19): the image prune script run for real with a stand-in `docker`
 * (what it removes and what it never touches), the disk figures script on this machine, the floor
 * decisions, the logging flags, and on the simulated fleet: images pruned after each deploy, a host
 * below the floor refusing before any host changes, `pier prune` and its dry run.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deploy } from '../../../src/config/sections/environment.ts';
import { runAccessory } from '../../../src/deploy/commands/accessory.ts';
import * as docker from '../../../src/deploy/commands/docker.ts';
import * as host from '../../../src/deploy/commands/host.ts';
import { appRepositories, parsePruneOutput, pruneImages } from '../../../src/deploy/commands/images.ts';
import { belowFloor, describeDisk, parseDiskUsage, parseSystemDf, refusalMessage } from '../../../src/deploy/disk.ts';
import { releasesToPrune } from '../../../src/deploy/host-ops.ts';
import { Progress } from '../../../src/deploy/progress.ts';
import { prune } from '../../../src/deploy/prune.ts';
import { EnvironmentError } from '../../../src/util/errors.ts';
import { installVirtualClock, type VirtualClock } from '../../sim/clock.ts';
import { SimFleet } from '../../sim/fleet.ts';
import { deploy, status } from '../../sim/verbs.ts';
import { LockHeldError } from '../../../src/deploy/lock.ts';

const ID = (c: string) => `sha256:${c.repeat(64)}`;

/**
 * A stand-in `docker` answering the prune script's questions from a fixture, recording `rmi`:
 * containers (name -> image id), images (id repo tag digest), image sizes.
 */
function fakeDocker(fx: { containers: [string, string][]; images: [string, string, string, string][]; psFails?: boolean }): { dir: string; rmiCalls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'pier-prune-'));
  const ps = fx.containers.map((_, i) => `c${i}`).join('\n');
  const inspect = fx.containers.map(([name, id], i) => `c${i}) echo "/${name} ${id}" ;;`).join('\n');
  const ls = fx.images.map((r) => r.join(' ')).join('\n');
  const byRef = fx.images.flatMap(([id, repo, tag, digest]) => [...(tag !== '<none>' ? [`${repo}:${tag}`] : []), ...(digest !== '<none>' ? [`${repo}@${digest}`] : [])].map((ref) => `"${ref}") echo ${id} ;;`)).join('\n');
  writeFileSync(
    join(dir, 'docker'),
    `#!/bin/sh
case "$1 $2" in
  "ps -aq") ${fx.psFails ? 'echo "Cannot connect" >&2; exit 1' : `printf '%s\\n' '${ps}'`} ;;
  "image ls") printf '%s\\n' '${ls}' ;;
  "image inspect")
    f=$4; shift 4
    if [ "$f" = '{{.Id}}' ]; then case "$1" in
${byRef}
      *) exit 1 ;;
    esac; exit 0; fi
    for id in "$@"; do echo "$id 1000000"; done ;;
  "inspect --format")
    shift 3
    for c in "$@"; do case "$c" in
${inspect}
    esac; done ;;
  rmi*) shift; echo "$*" >> '${dir}/rmi'; for r in "$@"; do echo "Untagged: $r"; done ;;
  *) echo "unexpected docker $*" >&2; exit 2 ;;
esac
`,
  );
  chmodSync(join(dir, 'docker'), 0o755);
  return { dir, rmiCalls: () => (existsSync(join(dir, 'rmi')) ? readFileSync(join(dir, 'rmi'), 'utf8').trim().split('\n') : []) };
}

const sh = (argv: string[], dir: string) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });

describe('the image prune script (run for real, docker stubbed)', () => {
  // v1: no container; v2: a stopped retained container; v3: running; other app's image unused;
  // the proxy image unused by a container but protected; v0 shares its ID with another app's tag.
  const fixture = {
    containers: [['api-v2-aaaaaa', ID('2')], ['api-v3-bbbbbb', ID('3')], ['pier-proxy', ID('9')]] as [string, string][],
    images: [
      [ID('1'), 'reg:5000/pier/api', 'v1', 'sha256:d1'],
      [ID('2'), 'reg:5000/pier/api', 'v2', 'sha256:d2'],
      [ID('3'), 'reg:5000/pier/api', 'v3', 'sha256:d3'],
      [ID('4'), 'reg:5000/pier/api', '<none>', 'sha256:d4'],
      [ID('5'), 'pier/api', 'v5', '<none>'],
      [ID('6'), 'reg:5000/other/app', 'v1', '<none>'],
      [ID('7'), 'nginx', '1.27', '<none>'],
      [ID('8'), 'reg:5000/pier/api-old', 'v1', '<none>'],
    ] as [string, string, string, string][],
  };
  const spec = { repos: appRepositories('pier/api', 'reg:5000'), protect: ['nginx:1.27'] };

  it('lists the references of images no container uses, of the app repositories only, with sizes', () => {
    const { dir, rmiCalls } = fakeDocker(fixture);
    const out = sh(pruneImages('list', spec), dir);
    expect(parsePruneOutput(out, 'list')).toEqual([
      { id: ID('1'), refs: ['reg:5000/pier/api:v1', 'reg:5000/pier/api@sha256:d1'], bytes: 1000000 },
      { id: ID('4'), refs: ['reg:5000/pier/api@sha256:d4'], bytes: 1000000 },
      { id: ID('5'), refs: ['pier/api:v5'], bytes: 1000000 },
    ]);
    expect(rmiCalls()).toEqual([]);
  });

  it('removes exactly those references (never a used, protected, other-app or look-alike repository image)', () => {
    const { dir, rmiCalls } = fakeDocker(fixture);
    sh(pruneImages('remove', spec), dir);
    expect(rmiCalls()).toEqual(['reg:5000/pier/api:v1 reg:5000/pier/api@sha256:d1 reg:5000/pier/api@sha256:d4 pier/api:v5']);
  });

  it('a dry run counts the containers the same prune removes as gone: their images are listed too', () => {
    const { dir } = fakeDocker(fixture);
    const out = parsePruneOutput(sh(pruneImages('list', { ...spec, without: ['api-v2-aaaaaa'] }), dir), 'list');
    expect(out.map((i) => i.id)).toEqual([ID('1'), ID('2'), ID('4'), ID('5')]);
  });

  it('a protected reference is kept even when no container uses it', () => {
    const { dir } = fakeDocker({ ...fixture, images: [[ID('7'), 'pier/api', 'proxy', '<none>'], ...fixture.images] });
    const out = parsePruneOutput(sh(pruneImages('list', { repos: ['pier/api'], protect: ['pier/api:proxy'] }), dir), 'list');
    expect(out.map((i) => i.refs).flat()).toEqual(['pier/api:v5']);
  });

  it('removes nothing and fails when the container listing fails (an empty "used" set must not mean "all unused")', () => {
    const { dir, rmiCalls } = fakeDocker({ ...fixture, psFails: true });
    expect(() => sh(pruneImages('remove', spec), dir)).toThrow();
    expect(rmiCalls()).toEqual([]);
  });

  it('parses docker rmi output: an image is deleted only with its Deleted line', () => {
    const out = `candidate ${ID('1')} r:v1 10\ncandidate ${ID('1')} r@sha256:d1 10\ncandidate ${ID('4')} r:v4 5\nUntagged: r:v1\nDeleted: ${ID('1')}\nDeleted: sha256:layer\nUntagged: r:v4\n`;
    expect(parsePruneOutput(out, 'remove')).toEqual([
      { id: ID('1'), refs: ['r:v1', 'r@sha256:d1'], bytes: 10, deleted: true, untagged: ['r:v1'] },
      { id: ID('4'), refs: ['r:v4'], bytes: 5, deleted: false, untagged: ['r:v4'] },
    ]);
  });

  it('refuses a repository with spaces or a tag (it is a value of the script, never code)', () => {
    expect(() => pruneImages('list', { repos: ['a b'], protect: [] })).toThrow(/not a repository/);
    expect(() => pruneImages('list', { repos: ['a/b:v1'], protect: [] })).toThrow(/not a repository/);
    expect(appRepositories('org/app')).toEqual(['org/app']);
    expect(appRepositories('org/app', 'reg:5000')).toEqual(['reg:5000/org/app', 'org/app']);
  });
});

describe('disk figures and the floor', () => {
  it('the disk script runs here: pier dir (nearest existing parent) with numbers', () => {
    const out = execFileSync('sh', host.diskUsage('/nonexistent-pier/a/b').slice(1), { encoding: 'utf8' });
    const facts = parseDiskUsage(out);
    expect(facts[0]).toMatchObject({ path: '/', role: 'dir' });
    expect(facts[0]!.totalMb).toBeGreaterThan(0);
  });

  it('parses, drops a data root on the same filesystem, judges both floors', () => {
    const out = '/var/lib/pier 2048 10240000 50 1000 /\n/var/lib/docker 2048 10240000 50 1000 /\n';
    expect(parseDiskUsage(out)).toHaveLength(1);
    const two = parseDiskUsage('/var/lib/pier 5120000 10240000 900 1000 /\n/var/lib/docker 512000 10240000 30 1000 /var/lib/docker\n');
    expect(two.map((f) => [f.role, f.freeMb, f.freeInodesPercent])).toEqual([['dir', 5000, 90], ['docker', 500, 3]]);
    expect(belowFloor(two, { minFreeMb: 500, minFreeInodesPercent: 3 })).toEqual([]);
    expect(belowFloor(two, { minFreeMb: 501, minFreeInodesPercent: 3.1 })).toEqual([
      "only 500 MB free under /var/lib/docker (Docker's data root); need 501 MB (deploy.minFreeMb)",
      "only 3% of inodes free under /var/lib/docker (Docker's data root) (30 of 1000); need 3.1% (deploy.minFreeInodesPercent)",
    ]);
    // A filesystem without an inode count (btrfs) is not judged on inodes.
    expect(belowFloor(parseDiskUsage('/d 9999999 9999999 0 0 /\n'), { minFreeMb: 1, minFreeInodesPercent: 50 })).toEqual([]);
    expect(describeDisk(two[1]!)).toBe('/var/lib/docker (docker): 500 MB free of 10000 MB, 3% inodes free');
  });

  it('the refusal says what uses the space and how to free it', () => {
    const use = parseSystemDf('Images\t5.3GB\t5.1GB (97%)\nContainers\t0B\t0B\nBuild Cache\t3.2GB\t3.2GB\n');
    const m = refusalMessage('web2', ['only 10 MB free under /var/lib/pier; need 1024 MB (deploy.minFreeMb)'], use, 'production');
    expect(m).toBe('web2: only 10 MB free under /var/lib/pier; need 1024 MB (deploy.minFreeMb); Docker uses images 5.3GB (5.1GB (97%) reclaimable), containers 0B (0B reclaimable), build cache 3.2GB (3.2GB reclaimable); free space with pier prune production (stopped releases beyond deploy.keepReleases, unused images of the app; --dry-run lists them), or docker builder prune / docker volume prune on the host for what pier does not own');
  });
});

describe('bounded container logs (deploy.logging)', () => {
  const logging = Deploy.parse({}).logging;
  const flags = ['--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3'];
  const sub = (argv: string[]) => argv.join(' ').includes(flags.join(' '));
  it('defaults 10m x 3; sizes checked', () => {
    expect(logging).toEqual({ maxSize: '10m', maxFile: 3 });
    expect(Deploy.safeParse({ logging: { maxSize: '10 MB' } }).success).toBe(false);
    expect(Deploy.safeParse({ logging: { maxSize: '500k', maxFile: 1 } }).success).toBe(true);
  });
  it('release and role containers, the proxy and accessories carry the limits', () => {
    const spec = { name: 'api-v1-a', image: 'i', app: 'api', version: 'v1', runId: 'r', logging };
    expect(sub(docker.runApp(spec))).toBe(true);
    expect(sub(docker.runApp({ ...spec, role: { name: 'worker', stopSignal: 'SIGTERM', drainSeconds: 5 } }))).toBe(true);
    expect(sub(docker.runProxy({ image: 'nginx', publicPort: 80, nginxDir: '/n', logDir: '/l', logging }))).toBe(true);
    expect(sub(runAccessory({ app: 'api', name: 'db', image: 'postgres', bind: '127.0.0.1', volumes: [], logging }))).toBe(true);
    // Before the image: flags, not the container's command.
    const argv = docker.runApp(spec);
    expect(argv.indexOf('--log-driver')).toBeLessThan(argv.indexOf('i'));
    expect(sub(docker.runApp({ ...spec, logging: undefined }))).toBe(false);
  });
});

describe('releasesToPrune (the container prune decision)', () => {
  const c = (name: string, state: string, created: string) => ({ name, state, created });
  it('keeps the newest keep (protected first) and every running one', () => {
    const all = [c('a', 'exited', '1'), c('b', 'exited', '2'), c('c', 'running', '3'), c('d', 'exited', '4'), c('e', 'exited', '5')];
    expect(releasesToPrune(all, 2, ['a'])).toEqual(['d', 'b']);
    expect(releasesToPrune(all, 1, [])).toEqual(['d', 'b', 'a']);
    expect(releasesToPrune(all, 10, [])).toEqual([]);
  });
});

describe('on the simulated fleet', () => {
  let clock: VirtualClock;
  beforeAll(() => {
    clock = installVirtualClock();
  });
  afterAll(() => clock.uninstall());
  const quiet = () => new Progress(() => undefined);
  const appImages = (f: SimFleet, h: string) => f.host(h).s.images.filter((r) => r.includes('pier/api'));
  const usedIds = (f: SimFleet, h: string) => new Set(Object.values(f.host(h).s.containers).map((x) => f.host(h).imageIdOf(x.image)));

  it('after each deploy, the images on a host are those of its retained releases (+ the proxy); never one a container uses', async () => {
    const fleet = SimFleet.create(['web1', 'web2'], ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
    for (const v of ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']) {
      const r = await deploy(fleet.target(fleet.process(), { keepReleases: 2 }), { version: v, progress: quiet() });
      expect(r.ok, r.error).toBe(true);
      fleet.elapse();
      for (const h of ['web1', 'web2']) {
        const ids = new Set(appImages(fleet, h).map((r) => fleet.host(h).imageIdOf(r)));
        expect(ids).toEqual(new Set([...usedIds(fleet, h)].filter((id) => id !== fleet.host(h).imageIdOf('nginx:1.27'))));
        expect(fleet.host(h).s.images).toContain('nginx:1.27');
        for (const x of Object.values(fleet.host(h).s.containers)) expect(fleet.host(h).s.images.map((i) => fleet.host(h).imageIdOf(i))).toContain(fleet.host(h).imageIdOf(x.image));
      }
    }
    // keepReleases 2: v5 (stopped, retained) and v6 (serving) on each host; v1..v4 gone.
    expect(appImages(fleet, 'web1').filter((r) => /:v\d$/.test(r))).toEqual(['reg:5000/pier/api:v5', 'reg:5000/pier/api:v6']);
    expect(fleet.violations).toEqual([]);
    expect(fleet.unknown).toEqual([]);
  });

  it('a failed deploy prunes nothing: every retained release is still there to roll back to', async () => {
    const fleet = SimFleet.create(['web1', 'web2'], ['v1', 'v2', 'v3', 'v4']);
    for (const v of ['v1', 'v2', 'v3']) {
      expect((await deploy(fleet.target(fleet.process(), { keepReleases: 3 }), { version: v, progress: quiet() })).ok).toBe(true);
      fleet.elapse();
    }
    const releases = (h: string) => Object.values(fleet.host(h).s.containers).filter((c) => c.labels['pier.app']).map((c) => c.labels['pier.release']).sort();
    const images = (h: string) => appImages(fleet, h).sort();
    const before = { web1: [releases('web1'), images('web1')], web2: [releases('web2'), images('web2')] };
    expect(before.web1[0]).toEqual(['v1', 'v2', 'v3']);
    fleet.setHealth('v4', 'never');
    expect((await deploy(fleet.target(fleet.process(), { keepReleases: 3 }), { version: 'v4', progress: quiet() })).ok).toBe(false);
    for (const h of ['web1', 'web2'] as const) {
      expect(releases(h)).toEqual(before[h][0]);
      // The failed release's image may stay until the next successful deploy; none of the retained ones went.
      expect(images(h)).toEqual(expect.arrayContaining(before[h][1]!));
    }
    expect(fleet.violations).toEqual([]);
  });

  it('the release containers carry the log limits', async () => {
    const fleet = SimFleet.create(['web1'], ['v1']);
    await deploy(fleet.target(fleet.process(), { logging: { maxSize: '5m', maxFile: 2 } }), { version: 'v1', progress: quiet() });
    const cs = Object.values(fleet.host('web1').s.containers);
    expect(cs.map((x) => x.logging)).toEqual(cs.map(() => ['json-file', 'max-size=5m', 'max-file=2']));
  });

  it('a failing image prune is a warning in the report, never a failed deploy', async () => {
    const fleet = SimFleet.create(['web1', 'web2'], ['v1', 'v2']);
    await deploy(fleet.target(fleet.process()), { version: 'v1', progress: quiet() });
    // Find the prune command of a fault-free v2 run, then fail exactly it.
    const probe = new SimFleet(fleet.snapshot());
    const p = probe.process();
    await deploy(probe.target(p), { version: 'v2', progress: quiet() });
    const k = p.log.findIndex((c) => c.argv[2]?.startsWith('mode=$1')) + 1;
    expect(k).toBeGreaterThan(0);
    const f = new SimFleet(fleet.snapshot());
    const events: string[] = [];
    const r = await deploy(f.target(f.process({ kind: 'fail', k })), { version: 'v2', progress: new Progress((l) => events.push(l)) });
    expect(r.ok).toBe(true);
    expect(r.images?.find((i) => i.error)?.host).toBe(p.log[k - 1]!.host);
    expect(events.join('\n')).toMatch(/pruned .*image prune failed \(the deploy stands; pier prune production retries\)/);
  });

  it('a host below the disk floor refuses the deploy (exit 3) before anything changes on any host, naming it and pier prune', async () => {
    const fleet = SimFleet.create(['web1', 'web2', 'web3'], ['v1', 'v2']);
    await deploy(fleet.target(fleet.process()), { version: 'v1', progress: quiet() });
    fleet.host('web2').s.disk = { freeKb: 10 * 1024, totalKb: 100_000_000, freeInodes: 10, totalInodes: 1000 };
    const before = JSON.stringify(fleet.snapshot().hosts.map((h) => ({ ...h, disk: undefined })));
    const p = fleet.process();
    const err = await deploy(fleet.target(p), { version: 'v2', progress: quiet() }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(/web2: only 10 MB free under \/var\/lib\/pier; need 1024 MB \(deploy\.minFreeMb\); only 1% of inodes free/);
    expect((err as Error).message).toMatch(/Docker uses images .*; free space with pier prune production/);
    expect((err as Error).message).not.toMatch(/web1:|web3:/);
    expect(JSON.stringify(fleet.snapshot().hosts.map((h) => ({ ...h, disk: undefined })))).toBe(before);
    // Only reads went out: docker version, the disk script, docker system df on web2.
    expect(new Set(p.log.map((c) => (c.argv[0] === 'sh' ? 'disk' : c.argv.slice(0, 2).join(' '))))).toEqual(new Set(['docker version', 'disk', 'docker system']));
  });

  it('pier status shows each host\'s disk', async () => {
    const fleet = SimFleet.create(['web1'], ['v1']);
    await deploy(fleet.target(fleet.process()), { version: 'v1', progress: quiet() });
    const s = await status(fleet.target(fleet.process()));
    expect(s[0]!.disk?.map((d) => [d.role, d.freeMb])).toEqual([['dir', 48828], ['docker', 48829]]);
  });

  it('pier prune: the dry run lists and changes nothing; the prune removes just that; refused while a deploy holds the lock', async () => {
    const fleet = SimFleet.create(['web1', 'web2'], ['v1', 'v2', 'v3', 'v4']);
    for (const v of ['v1', 'v2', 'v3', 'v4']) {
      await deploy(fleet.target(fleet.process()), { version: v, progress: quiet() });
      fleet.elapse();
    }
    // Retained by the deploys (keepReleases 3): v2, v3 stopped, v4 serving. An image of the app no
    // container uses (pulled by hand on web1), and keepReleases lowered to 1 for the prune.
    fleet.host('web1').exec(['docker', 'pull', '--quiet', 'reg:5000/pier/api:v1']);
    const before = JSON.stringify(fleet.snapshot().hosts);
    const dry = await prune(fleet.target(fleet.process(), { keepReleases: 1 }), { dryRun: true });
    expect(JSON.stringify(fleet.snapshot().hosts)).toBe(before);
    const w1 = dry.hosts.find((h) => h.host === 'web1')!;
    expect(w1.containers.map((c) => c.release).sort()).toEqual(['v2', 'v3']);
    expect(dry.hosts.find((h) => h.host === 'web2')!.images.flatMap((i) => i.refs).filter((r) => /:v\d$/.test(r)).sort()).toEqual(['reg:5000/pier/api:v2', 'reg:5000/pier/api:v3']);
    expect(w1.images.flatMap((i) => i.refs).filter((r) => /:v\d$/.test(r)).sort()).toEqual(['reg:5000/pier/api:v1', 'reg:5000/pier/api:v2', 'reg:5000/pier/api:v3']);
    expect(w1.bytes).toBe(3 * 100_000_000);
    const real = await prune(fleet.target(fleet.process(), { keepReleases: 1 }));
    expect(real.ok).toBe(true);
    expect(real.hosts.find((h) => h.host === 'web1')!.containers.map((c) => c.name).sort()).toEqual(w1.containers.map((c) => c.name).sort());
    expect(real.hosts.find((h) => h.host === 'web1')!.images.filter((i) => i.deleted).map((i) => i.id).sort()).toEqual(w1.images.map((i) => i.id).sort());
    expect(appImages(fleet, 'web1').filter((r) => /:v\d$/.test(r))).toEqual(['reg:5000/pier/api:v4']);
    expect(fleet.host('web1').s.files['/var/lib/pier/audit.log']).toMatch(/prune: web1 2 containers, 3 images; web2 2 containers, 2 images/);
    expect(fleet.host('web1').s.dirs).not.toContain('/var/lib/pier/lock');
    // A held lock: refused naming the holder.
    fleet.host('web2').exec(host.acquireLock('/var/lib/pier/lock', '{"by":"someone@else","run":"r-held","version":"v9","at":"now","pid":1,"command":"deploy"}'));
    const held = await prune(fleet.target(fleet.process())).catch((e: Error) => e);
    expect(held).toBeInstanceOf(LockHeldError);
    expect((held as Error).message).toMatch(/r-held/);
    expect(fleet.violations).toEqual([]);
  });
});
