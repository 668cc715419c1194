/**
 * Roles on the in-memory simulated hosts (test/sim): web behind the proxy on web1+web2, a worker on
 * web2+web3 (web3 worker-only), every deploy and rollback checked against the hosts' containers and
 * records. Ordering, the rollback of every role when any fails, the worker's stop signal and drain,
 * and the config rules of roles:/roleOrder:.
 */
import { describe, expect, it } from 'vitest';
import { Environment } from '../../../src/config/sections/environment.ts';
import { Progress } from '../../../src/deploy/progress.ts';
import { resolveRoles, type DeployTarget, type RoleSpec } from '../../../src/deploy/target.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { SimFleet, type SimProcess } from '../../sim/fleet.ts';
import { withVirtualTime } from '../../sim/harness.ts';
import { deploy, releases, rollback, status } from '../../sim/verbs.ts';

const HOSTS = ['web1', 'web2', 'web3'];
const worker: RoleSpec = { name: 'worker', hosts: ['web2', 'web3'], command: ['node', 'src/worker.js'], env: { QUEUE: 'jobs' }, stopSignal: 'SIGTERM', drainSeconds: 25, health: { command: ['node', 'src/worker-health.js'], timeoutSeconds: 5, intervalSeconds: 1 } };

function target(f: SimFleet, p: SimProcess, o: Partial<DeployTarget> = {}): DeployTarget {
  return f.target(p, {}, { webHosts: ['web1', 'web2'], roles: [worker], roleOrder: ['web', 'worker'], ...o });
}

/** Per host: the role's current release and its running containers' releases. */
function roleState(f: SimFleet, role: string) {
  return Object.fromEntries(f.hosts.map((h) => {
    const cur = h.s.files[`/var/lib/pier/api/roles/${role}/current.json`];
    const running = Object.values(h.s.containers).filter((c) => c.labels['pier.role'] === role && c.running).map((c) => c.labels['pier.release']);
    return [h.name, { current: cur ? JSON.parse(cur).version : undefined, running }];
  }));
}
const webServing = (f: SimFleet) => Object.fromEntries(f.hosts.map((h) => [h.name, h.serving().map((s) => s.release).join('+') || undefined]));

async function run(steps: (f: SimFleet, lines: string[]) => Promise<void>): Promise<void> {
  const f = SimFleet.create(HOSTS, ['v1', 'v2', 'v3', 'v4']);
  const lines: string[] = [];
  await withVirtualTime(() => steps(f, lines));
  expect(f.unknown).toEqual([]);
  expect(f.violations).toEqual([]);
}

describe('roles (simulated hosts)', () => {
  it('moves web and the worker to the same release; the worker-only host gets no proxy and no HTTP check; the old worker gets its signal and drain', () =>
    run(async (f) => {
      const p = f.process();
      const r1 = await deploy(target(f, p), { version: 'v1', progress: new Progress(() => undefined) });
      expect(r1.ok, r1.error).toBe(true);
      const p2 = f.process();
      const r2 = await deploy(target(f, p2), { version: 'v2', progress: new Progress(() => undefined) });
      expect(r2.ok, r2.error).toBe(true);
      expect(r2.hosts.map((h) => `${h.host}:${h.status}`)).toEqual(['web1:deployed', 'web2:deployed']);
      expect(r2.roles?.map((r) => `${r.host}/${r.role}:${r.status}:${r.serving}`)).toEqual(['web2/worker:deployed:v2', 'web3/worker:deployed:v2']);
      expect(webServing(f)).toEqual({ web1: 'v2', web2: 'v2', web3: undefined });
      expect(roleState(f, 'worker')).toEqual({ web1: { running: [] }, web2: { current: 'v2', running: ['v2'] }, web3: { current: 'v2', running: ['v2'] } });
      // web3: no proxy container, no curl (no HTTP check), the worker checked by its command.
      const web3 = f.host('web3');
      expect(web3.s.containers['pier-proxy']).toBeUndefined();
      expect(p2.log.filter((c) => c.host === 'web3' && c.argv[0] === 'curl')).toEqual([]);
      expect(p2.log.filter((c) => c.host === 'web3' && c.argv[1] === 'exec').map((c) => c.argv.slice(3))).toContainEqual(['node', 'src/worker-health.js']);
      const workers = Object.values(web3.s.containers).filter((c) => c.labels['pier.role'] === 'worker');
      const v2 = workers.find((c) => c.labels['pier.release'] === 'v2')!;
      const v1 = workers.find((c) => c.labels['pier.release'] === 'v1')!;
      expect(v2).toMatchObject({ command: ['node', 'src/worker.js'], stopSignal: 'SIGTERM', stopTimeout: '25', running: true });
      expect(v2.name).toMatch(/^api-worker-v2-[0-9a-f]{6}$/);
      // The old worker was stopped (kept for rollback) with its full drain time before any kill.
      expect(v1).toMatchObject({ running: false, stoppedWithin: 25 });
      // The web releases do not list workers, and the other way round.
      expect(r2.timeline.filter((e) => e.host === 'web3').map((e) => e.phase)).not.toContain('baking');
    }));

  it('a worker that never becomes healthy rolls web back too (every host, every role on the release before)', () =>
    run(async (f) => {
      for (const v of ['v1', 'v2']) expect((await deploy(target(f, f.process()), { version: v, progress: new Progress(() => undefined) })).ok).toBe(true);
      f.setHealth('worker:v3', 'never');
      const r = await deploy(target(f, f.process()), { version: 'v3', progress: new Progress(() => undefined) });
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/worker v3 .* did not become healthy within 5s/);
      expect(r.hosts.map((h) => `${h.host}:${h.status}:${h.serving}`)).toEqual(['web1:rolled-back:v2', 'web2:rolled-back:v2']);
      expect(webServing(f)).toEqual({ web1: 'v2', web2: 'v2', web3: undefined });
      expect(roleState(f, 'worker')).toEqual({ web1: { running: [] }, web2: { current: 'v2', running: ['v2'] }, web3: { current: 'v2', running: ['v2'] } });
      // No v3 container of either role is left anywhere.
      for (const h of f.hosts) expect(Object.values(h.s.containers).filter((c) => c.labels['pier.release'] === 'v3')).toEqual([]);
    }));

  it('roleOrder worker first: the worker moves before web; web failing then takes the worker back', () =>
    run(async (f, lines) => {
      const order = { roleOrder: ['worker', 'web'] };
      expect((await deploy(target(f, f.process(), order), { version: 'v1', progress: new Progress(() => undefined) })).ok).toBe(true);
      const r = await deploy(target(f, f.process(), order), { version: 'v2', progress: new Progress((l) => lines.push(l)) });
      expect(r.ok).toBe(true);
      const firstWorker = r.timeline.findIndex((e) => e.phase === 'switched' && e.detail === 'worker');
      const firstWeb = r.timeline.findIndex((e) => e.phase === 'switched' && !e.detail);
      expect(firstWorker).toBeGreaterThanOrEqual(0);
      expect(firstWorker).toBeLessThan(firstWeb);
      f.setHealth('v3', 'never');
      const bad = await deploy(target(f, f.process(), order), { version: 'v3', progress: new Progress(() => undefined) });
      expect(bad.ok).toBe(false);
      expect(bad.roles?.map((x) => `${x.host}/${x.role}:${x.status}:${x.serving}`)).toEqual(['web2/worker:rolled-back:v2', 'web3/worker:rolled-back:v2']);
      expect(roleState(f, 'worker')).toEqual({ web1: { running: [] }, web2: { current: 'v2', running: ['v2'] }, web3: { current: 'v2', running: ['v2'] } });
      expect(webServing(f)).toEqual({ web1: 'v2', web2: 'v2', web3: undefined });
    }));

  it('pier rollback takes every role back to the same release; status and releases show the roles', () =>
    run(async (f) => {
      for (const v of ['v1', 'v2']) expect((await deploy(target(f, f.process()), { version: v, progress: new Progress(() => undefined) })).ok).toBe(true);
      const rb = await rollback(target(f, f.process()), { progress: new Progress(() => undefined) });
      expect(rb.ok).toBe(true);
      expect(rb.version).toBe('v1');
      expect(rb.hosts.map((h) => `${h.host}:${h.from}->${h.to}`)).toEqual(['web1:v2->v1', 'web2:v2->v1']);
      expect(rb.roles?.map((h) => `${h.host}/${h.role}:${h.from}->${h.to}`)).toEqual(['web2/worker:v2->v1', 'web3/worker:v2->v1']);
      expect(roleState(f, 'worker')).toEqual({ web1: { running: [] }, web2: { current: 'v1', running: ['v1'] }, web3: { current: 'v1', running: ['v1'] } });
      // The v2 worker left got its drain too.
      const left = Object.values(f.host('web3').s.containers).find((c) => c.labels['pier.role'] === 'worker' && c.labels['pier.release'] === 'v2')!;
      expect(left).toMatchObject({ running: false, stoppedWithin: 25 });

      const st = await status(target(f, f.process()));
      expect(st.map((h) => [h.host, h.web, h.serving, h.roles?.map((r) => `${r.role}:${r.serving}:${r.health}`)])).toEqual([
        ['web1', true, 'v1', undefined], ['web2', true, 'v1', ['worker:v1:healthy']], ['web3', false, undefined, ['worker:v1:healthy']],
      ]);
      const rel = await releases(target(f, f.process()));
      expect(rel.find((h) => h.host === 'web3')!.roles!.worker!.map((r) => `${r.version}:${r.event}`)).toEqual(['v1:rollback', 'v2:deployed', 'v1:deployed']);
    }));

  it('a worker-only environment (no web role) deploys and rolls back without any proxy', () =>
    run(async (f) => {
      const only = { webHosts: [], roles: [{ ...worker, hosts: HOSTS }], roleOrder: ['worker'] };
      for (const v of ['v1', 'v2']) {
        const r = await deploy(target(f, f.process(), only), { version: v, progress: new Progress(() => undefined) });
        expect(r.ok, r.error).toBe(true);
        expect(r.hosts).toEqual([]);
      }
      expect(f.hosts.every((h) => !h.s.containers['pier-proxy'])).toBe(true);
      const rb = await rollback(target(f, f.process(), only), { progress: new Progress(() => undefined) });
      expect(rb.ok).toBe(true);
      expect(rb.roles?.map((h) => `${h.host}:${h.to}`)).toEqual(['web1:v1', 'web2:v1', 'web3:v1']);
    }));
});

describe('roles: configuration', () => {
  const env = (o: Record<string, unknown>) => Environment.parse({ hosts: [], ...o });
  it('defaults to web on every host; roleOrder defaults to web first', () => {
    expect(resolveRoles(env({}), HOSTS, 'e.yaml')).toEqual({ webHosts: HOSTS, roles: [], roleOrder: ['web'] });
    const r = resolveRoles(env({ roles: { worker: { command: 'node src/worker.js', hosts: ['web3'] }, web: { hosts: ['web1'] } } }), HOSTS, 'e.yaml');
    expect(r.roleOrder).toEqual(['web', 'worker']);
    expect(r.webHosts).toEqual(['web1']);
    expect(r.roles[0]).toMatchObject({ name: 'worker', hosts: ['web3'], command: ['node', 'src/worker.js'], stopSignal: 'SIGTERM', drainSeconds: 30 });
  });
  it('names the key of a wrong host, an incomplete roleOrder, a health command on web', () => {
    const issues = (o: Record<string, unknown>) => {
      try {
        resolveRoles(env(o), HOSTS, 'e.yaml');
        return [];
      } catch (e) {
        return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
    };
    expect(issues({ roles: { web: {}, worker: { hosts: ['web9'] } } })).toEqual(['roles.worker.hosts[0]: expected a host name from hosts (web1, web2, web3), got "web9"']);
    expect(issues({ roles: { web: {}, worker: {} }, roleOrder: ['worker'] })).toEqual(['roleOrder: expected every role once (web, worker); missing web']);
    expect(() => env({ roles: { web: { health: { command: ['true'] } } } })).toThrow(/web is health-checked over HTTP/);
    expect(() => env({ roles: { worker: { stopSignal: 'TERM' } } })).toThrow(/a signal name such as SIGTERM/);
  });
});

describe('roles and accessories: commands as data', () => {
  it('a role container: its label, command, stop signal and drain, no image HEALTHCHECK', async () => {
    const { runApp } = await import('../../../src/deploy/commands/docker.ts');
    expect(runApp({ name: 'api-worker-v2-abc123', image: 'reg/api@sha256:1', app: 'api', version: 'v2', runId: 'r1', envFile: '/e/api.env', env: { PIER_ROLE: 'worker' }, role: { name: 'worker', command: ['node', 'src/worker.js'], stopSignal: 'SIGQUIT', drainSeconds: 45 } })).toEqual([
      'docker', 'run', '--detach', '--name', 'api-worker-v2-abc123', '--network', 'pier', '--restart', 'unless-stopped',
      '--label', 'pier.run=r1', '--label', 'pier.app=api', '--label', 'pier.release=v2', '--label', 'pier.role=worker',
      '--stop-signal', 'SIGQUIT', '--stop-timeout', '45', '--no-healthcheck',
      '--env-file', '/e/api.env', '--env', 'PIER_ROLE=worker', 'reg/api@sha256:1', 'node', 'src/worker.js',
    ]);
  });
  it('an accessory: published on its bind address only, named volumes per app, env file, no pier.app/pier.run label', async () => {
    const { runAccessory, accessoryEnvFile } = await import('../../../src/deploy/commands/accessory.ts');
    const argv = runAccessory({ app: 'api', name: 'db', image: 'postgres:16', port: 5432, bind: '127.0.0.1', volumes: ['pgdata:/var/lib/postgresql/data', '/srv/x:/x:ro'], envFile: accessoryEnvFile('/var/lib/pier/', 'api', 'db') });
    expect(argv).toEqual([
      'docker', 'run', '--detach', '--name', 'api-db', '--network', 'pier', '--restart', 'unless-stopped',
      '--label', 'pier.accessory=db', '--label', 'pier.accessory.app=api', '--publish', '127.0.0.1:5432:5432',
      '--env-file', '/var/lib/pier/api/accessories/db/db.env', '--volume', 'api-pgdata:/var/lib/postgresql/data', '--volume', '/srv/x:/x:ro', 'postgres:16',
    ]);
    expect(argv.join(' ')).not.toMatch(/pier\.app=|pier\.run=|0\.0\.0\.0/);
  });
  it('accessories: bind defaults to 127.0.0.1; a host not in hosts is named', () => {
    const e = Environment.parse({ hosts: [{ name: 'web1', address: '10.0.0.1' }], accessories: { db: { host: 'web1', image: 'postgres:16', port: 5432 } } });
    expect(e.accessories.db!.bind).toBe('127.0.0.1');
    expect(() => Environment.parse({ accessories: { db: { host: 'web1', image: 'x', bind: 'everywhere' } } })).toThrow(/an IPv4 address/);
  });
});
