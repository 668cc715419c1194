/**
 * Simulated fleets shared by the test files of one `vitest run` (main process side).
 *
 * Starting a fleet takes ~30 s and removing it ~8 s on an idle machine, far more under load, and
 * most deploy files want the same one. test/global-setup.ts keeps one FleetPool for the run and
 * serves it on a 127.0.0.1 port (`serveFleetPool`); useFleet (test/helpers/use-fleet.ts) asks it
 * for a fleet of `count` hosts (started lazily, on first request) and hands it back after the
 * file, when it is reset to a clean state:
 *   - on every host: a stopped host started again, stray `pier-retire` timers killed, every
 *     container, volume and user network removed, pier's state and log dirs and the docker login
 *     config deleted; images already pulled are kept (pier pulls on every deploy anyway);
 *   - the fleet's local directory emptied but for its SSH key (projects, backups a file wrote);
 *   - in the fleet registry: every repository but the pre-pushed proxy image deleted, so no tag
 *     pushed by one file is seen by the next;
 *   - on the local engine: any container labelled with the fleet's run id that is not the fleet's
 *     own (registry, hosts, load balancer, services) removed and REPORTED as left behind;
 *   - the front load balancer is untouched.
 * The reset is then verified (no container, volume or pier dir on any host) and what was found is
 * returned to the file, whose afterAll expects nothing. A fleet whose reset fails is removed and
 * the next request starts a new one. `removeAll` (global teardown) removes every fleet.
 */
import { readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { exec } from '../../src/util/exec.ts';
import { poll } from '../../src/util/poll.ts';
import { startFleet, type Fleet } from './fleet.ts';

/** What a test file gets: a fleet without its functions (they are rebuilt in the file's process). */
export type FleetDescription = Omit<Fleet, 'push' | 'hostExec' | 'down'> & {
  /** The fleet's own containers on the local engine (registry, hosts, load balancer, services). */
  own: string[];
};

export interface FleetRequest {
  count: number;
  services: boolean;
}

interface Entry {
  fleet: Fleet;
  own: string[];
  registry: string;
  /** The front load balancer (nginx resolves the hosts' names when it loads its config). */
  lb: string;
  count: number;
  services: boolean;
  busy: boolean;
}

/** The proxy image every host pre-pulled at start (src/dev-hosts/fleet.ts); kept in the registry. */
const PROXY_REPO = 'pier-test/nginx';

const docker = async (...args: string[]) => (await exec(['docker', ...args])).stdout.trim();

/** One shell script run in each host container (not over SSH: test plumbing). */
const HOST_RESET = [
  // pier's detached blue/green retire timers (src/deploy/commands/retire.ts) of the previous file.
  'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q "^sh -c sleep.*pier-retire" && kill ${p#/proc/} 2>/dev/null; done',
  'ids=$(docker ps -aq); [ -z "$ids" ] || docker rm --force --volumes $ids >/dev/null',
  'docker volume prune --force >/dev/null',
  'docker network prune --force >/dev/null',
  'rm -rf /var/lib/pier /var/log/pier /root/.docker',
].join('; ');

/** Prints what is left on a host after a reset, one line per kind (empty when clean). */
const HOST_CHECK = [
  'c=$(docker ps -aq) || echo "docker ps failed"; [ -z "$c" ] || echo "containers: $(echo $c)"',
  'v=$(docker volume ls -q) || echo "docker volume ls failed"; [ -z "$v" ] || echo "volumes: $(echo $v)"',
  '[ ! -e /var/lib/pier ] || echo "/var/lib/pier exists"',
].join('; ');

/** Delete every registry repository but the proxy image's (layout of the Distribution registry). */
const REGISTRY_RESET = `cd /var/lib/registry/docker/registry/v2/repositories 2>/dev/null || exit 0; for r in * */*; do [ -d "$r/_manifests" ] || continue; case "${PROXY_REPO}" in "$r") ;; *) rm -rf "$r";; esac; done`;

export class FleetPool {
  private entries: Entry[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly log: (s: string) => void = () => {}) {}

  /** Operations one at a time: a reset never overlaps a start or another reset. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A free fleet of `count` hosts (with services when asked; one with services also serves a request without). */
  acquire(req: FleetRequest): Promise<FleetDescription> {
    return this.serial(async () => {
      let e = this.entries.find((x) => !x.busy && x.count === req.count && (x.services || !req.services));
      if (e) {
        try {
          await this.refresh(e);
        } catch (err) {
          this.log(`fleet ${e.fleet.runId} unusable (${(err as Error).message}); starting another`);
          await this.remove(e);
          e = undefined;
        }
      }
      if (!e) {
        const fleet = await startFleet({ count: req.count, services: req.services });
        try {
          const own = (await docker('ps', '--all', '--no-trunc', '--quiet', '--filter', `label=pier.run=${fleet.runId}`)).split('\n').filter(Boolean);
          e = { fleet, own, registry: await publishing(own, '5000'), lb: await publishing(own, '80'), count: req.count, services: req.services, busy: false };
        } catch (err) {
          await fleet.down();
          throw err;
        }
        this.entries.push(e);
        this.log(`fleet ${fleet.runId} started (${req.count} hosts${req.services ? ', services' : ''})`);
      }
      e.busy = true;
      return describe(e);
    });
  }

  /** Reset a fleet a file is done with; returns what the file left behind (empty when nothing). */
  release(runId: string): Promise<string[]> {
    return this.serial(async () => {
      const e = this.entries.find((x) => x.fleet.runId === runId);
      if (!e) return [`no pooled fleet ${runId}`];
      try {
        const left = await this.reset(e);
        e.busy = false;
        return left;
      } catch (err) {
        await this.remove(e);
        return [`reset failed, fleet removed: ${(err as Error).message}`];
      }
    });
  }

  removeAll(): Promise<void> {
    return this.serial(async () => {
      await Promise.all(this.entries.map((e) => this.remove(e)));
    });
  }

  private async remove(e: Entry): Promise<void> {
    this.entries = this.entries.filter((x) => x !== e);
    await e.fleet.down();
    // Tags a file pushed through its own handle (test/helpers/pooled-fleet.ts removes them too).
    const prefix = `127.0.0.1:${e.fleet.registryPort}/`;
    const refs = (await docker('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}')).split('\n').filter((r) => r.startsWith(prefix));
    if (refs.length) await exec(['docker', 'image', 'rm', ...refs], { nothrow: true });
  }

  /** Hosts running, dockerd answering, SSH ports and host keys as they are now (a test may stop a host or change its key). */
  private async refresh(e: Entry): Promise<void> {
    await Promise.all(
      e.fleet.hosts.map(async (h) => {
        if ((await docker('inspect', '--format', '{{.State.Running}}', h.container)) !== 'true') {
          this.log(`fleet ${e.fleet.runId}: starting stopped host ${h.name}`);
          await docker('start', h.container);
        }
        await poll(`${h.name} dockerd`, async () => ((await exec(['docker', 'exec', h.container, 'docker', 'info'], { nothrow: true })).code === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
        const port = /127\.0\.0\.1:(\d+)/.exec(await docker('port', h.container, '22/tcp'));
        if (!port) throw new Error(`${h.name}: no SSH port published`);
        h.sshPort = Number(port[1]);
        h.fingerprint = await poll(
          `${h.name} host key`,
          async () => /SHA256:\S+/.exec((await exec(['docker', 'exec', h.container, 'ssh-keygen', '-lf', '/etc/ssh/ssh_host_ed25519_key.pub'], { nothrow: true })).stdout)?.[0],
          { timeoutMs: 10_000, intervalMs: 300 },
        );
      }),
    );
    // A host restarted (here, after a test stopped it) may have a new address on the fleet
    // network: nginx resolves the hosts' names when it loads its config, so reload it (same config).
    await docker('exec', e.lb, 'nginx', '-s', 'reload');
  }

  private async reset(e: Entry): Promise<string[]> {
    const { fleet } = e;
    const left: string[] = [];
    const labelled = (await docker('ps', '--all', '--no-trunc', '--quiet', '--filter', `label=pier.run=${fleet.runId}`)).split('\n').filter(Boolean);
    const strays = labelled.filter((id) => !e.own.includes(id));
    if (strays.length) {
      left.push(`${strays.length} container(s) labelled pier.run=${fleet.runId} besides the fleet's own: ${strays.map((s) => s.slice(0, 12)).join(' ')}`);
      await exec(['docker', 'rm', '--force', '--volumes', ...strays], { nothrow: true });
    }
    const missing = e.own.filter((id) => !labelled.includes(id));
    if (missing.length) throw new Error(`fleet containers gone: ${missing.map((s) => s.slice(0, 12)).join(' ')}`);
    await this.refresh(e);
    // The fleet's local directory: projects and backups a file wrote there; the SSH key stays.
    for (const f of readdirSync(fleet.dir)) if (join(fleet.dir, f) !== fleet.keyFile) rmSync(join(fleet.dir, f), { recursive: true, force: true });
    await Promise.all([
      ...fleet.hosts.map((h) => docker('exec', h.container, 'sh', '-c', HOST_RESET)),
      docker('exec', e.registry, 'sh', '-c', REGISTRY_RESET),
    ]);
    const checks = await Promise.all(fleet.hosts.map(async (h) => ({ h: h.name, out: await docker('exec', h.container, 'sh', '-c', HOST_CHECK) })));
    for (const c of checks) if (c.out) left.push(`${c.h} after reset: ${c.out.replace(/\n/g, ', ')}`);
    return left;
  }
}

/** The fleet's one container publishing `port` (5000: the registry, 80: the front load balancer). */
async function publishing(own: string[], port: string): Promise<string> {
  const found: string[] = [];
  for (const id of own) {
    const ports = JSON.parse(await docker('inspect', '--format', '{{json .NetworkSettings.Ports}}', id)) as Record<string, unknown[] | null> | null;
    if (ports?.[`${port}/tcp`]?.length) found.push(id);
  }
  if (found.length !== 1) throw new Error(`expected one fleet container publishing ${port}/tcp, found ${found.length}`);
  return found[0]!;
}

function describe(e: Entry): FleetDescription {
  const { push: _p, hostExec: _h, down: _d, ...rest } = e.fleet;
  void [_p, _h, _d];
  return JSON.parse(JSON.stringify({ ...rest, own: e.own })) as FleetDescription;
}

/**
 * Serve a pool on 127.0.0.1 (random port) for the test files' processes:
 * POST /acquire {count, services} -> FleetDescription; POST /release {runId} -> {left: string[]}.
 */
export async function serveFleetPool(pool: FleetPool): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const reply = (code: number, value: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      void (async () => {
        try {
          const input = JSON.parse(body || '{}') as Record<string, unknown>;
          if (req.method === 'POST' && req.url === '/acquire') {
            const count = Number(input.count ?? 3);
            if (!Number.isInteger(count) || count < 1) return reply(400, { error: `count: expected a positive integer, got ${String(input.count)}` });
            return reply(200, await pool.acquire({ count, services: input.services === true }));
          }
          if (req.method === 'POST' && req.url === '/release' && typeof input.runId === 'string') return reply(200, { left: await pool.release(input.runId) });
          return reply(404, { error: `unknown request ${req.method} ${req.url}` });
        } catch (err) {
          return reply(500, { error: (err as Error).stack ?? String(err) });
        }
      })();
    });
  });
  // Requests wait for a fleet start; never time them out server-side (the client bounds its wait).
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((res) => server.close(() => res())) };
}
