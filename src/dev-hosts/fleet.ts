/**
 * A simulated production fleet on the local Docker engine: N Docker-in-Docker hosts with sshd, a
 * registry (`reg:5000`) and a front nginx load balancer on one network. SSH, registry and load
 * balancer are published on 127.0.0.1 random ports only. Everything carries `pier.run=<id>` (and
 * the pid of the process that started it, so `pier reap` leaves a live fleet alone) and `down()`
 * removes it. Used by `pier dev-hosts`, pier's deploy tests and its benchmarks.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { interpolationVars } from '../config/load.ts';
import { renderLoadBalancerMain } from '../deploy/commands/nginx.ts';
import { imageFor } from '../machine/images.ts';
import { exec } from '../util/exec.ts';
import { poll } from '../util/poll.ts';
import { newRunId, runLabels } from '../util/run-id.ts';

export interface FleetImages {
  sshhost: string;
  nginx: string;
  registry: string;
  node: string;
  postgres: string;
  redis: string;
}

/** The images a fleet runs, from the resolved variables (machine file, repo .env, environment) (pure). */
export function fleetImages(vars: Record<string, string | undefined>): FleetImages {
  const pick = (k: string) => imageFor(k, vars);
  return { sshhost: pick('sshhost'), nginx: pick('nginx'), registry: pick('registry'), node: pick('node'), postgres: pick('postgres'), redis: pick('redis') };
}

export interface FleetHost {
  name: string;
  alias: string;
  container: string;
  sshPort: number;
  fingerprint: string;
}

export interface Fleet {
  runId: string;
  /** Addresses of the app's dependencies on the fleet network when started with `services`. */
  services: { postgres?: string; redis?: string };
  network: string;
  hosts: FleetHost[];
  registryPort: number;
  lbPort: number;
  /** The front load balancer's TCP pass-through to every host's HTTPS port (127.0.0.1). */
  lbTlsPort: number;
  dir: string;
  keyFile: string;
  /** Proxy image reference as the hosts see it (in the fleet registry). */
  proxyImage: string;
  /** Push a local image into the fleet registry as `repo:tag` (hosts pull `reg:5000/repo:tag`). */
  push(localRef: string, repoTag: string): Promise<void>;
  /** Run a command inside a host container (not over SSH: test plumbing only). */
  hostExec(name: string, argv: string[]): Promise<string>;
  down(): Promise<void>;
}

const docker = (...args: string[]) => exec(['docker', ...args]).then((r) => r.stdout.trim());
const labelArgs = (l: Record<string, string>) => Object.entries(l).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

async function publishedPort(container: string, port: string): Promise<number> {
  const out = await docker('port', container, port);
  const m = /127\.0\.0\.1:(\d+)/.exec(out);
  if (!m) throw new Error(`no 127.0.0.1 port published for ${container} ${port}: ${out}`);
  return Number(m[1]);
}

/** Start a fleet of `count` hosts (in parallel). On any failure everything started is removed. */
export async function startFleet(opts: { count?: number; log?: (s: string) => void; services?: boolean; images?: FleetImages } = {}): Promise<Fleet> {
  const count = opts.count ?? 3;
  const images = opts.images ?? fleetImages(interpolationVars(process.cwd()));
  const log = opts.log ?? (() => undefined);
  const runId = newRunId();
  const labels = labelArgs(runLabels(runId, { 'pier.role': 'test-fleet' }));
  const dir = mkdtempSync(join(tmpdir(), 'pier-fleet-'));
  const keyFile = join(dir, 'id_ed25519');
  const kp = ssh2.utils.generateKeyPairSync('ed25519');
  writeFileSync(keyFile, kp.private, { mode: 0o600 });
  const containers: string[] = [];
  const volumes: string[] = [];
  const localTags: string[] = [];
  const network = `pier-fleet-${runId}`;
  let networkCreated = false;

  const down = async () => {
    if (containers.length) await exec(['docker', 'rm', '--force', '--volumes', ...containers], { nothrow: true });
    if (volumes.length) await exec(['docker', 'volume', 'rm', '--force', ...volumes], { nothrow: true });
    if (networkCreated) await exec(['docker', 'network', 'rm', network], { nothrow: true });
    if (localTags.length) await exec(['docker', 'image', 'rm', ...localTags], { nothrow: true });
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await docker('network', 'create', ...labels, network);
    networkCreated = true;
    const reg = await docker('run', '--detach', ...labels, '--network', network, '--network-alias', 'reg', '--publish', '127.0.0.1::5000', images.registry);
    containers.push(reg);
    const hosts: FleetHost[] = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const name = `web${i + 1}`;
        const alias = `host${i + 1}`;
        const vol = await docker('volume', 'create', ...labels);
        volumes.push(vol);
        const c = await docker(
          'run', '--detach', ...labels,
          '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE',
          '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
          '--volume', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--volume', `${vol}:/var/lib/docker`,
          '--network', network, '--network-alias', alias,
          '--publish', '127.0.0.1::22',
          '--env', `AUTHORIZED_KEY=${kp.public}`, '--env', 'INSECURE_REGISTRY=reg:5000',
          // /run is a tmpfs as on a real host, so a restarted host boots clean: a /var/run/docker.pid
          // kept from before the restart made its dockerd refuse to start ("pid file found").
          '--tmpfs', '/run:rw,exec,nosuid,size=64m',
          images.sshhost, 'sh', '-c', 'mkdir -p /run/sshd && exec /usr/local/bin/host-entrypoint.sh',
        );
        containers.push(c);
        return { name, alias, container: c, sshPort: 0, fingerprint: '' };
      }),
    );
    const registryPort = await publishedPort(reg, '5000/tcp');
    const push = async (localRef: string, repoTag: string) => {
      const remote = `127.0.0.1:${registryPort}/${repoTag}`;
      await docker('tag', localRef, remote);
      localTags.push(remote);
      await poll(`registry on 127.0.0.1:${registryPort}`, async () => ((await exec(['docker', 'push', '--quiet', remote], { nothrow: true })).code === 0 ? true : undefined), { timeoutMs: 20_000, intervalMs: 300 });
    };
    const proxyImage = `reg:5000/pier-test/nginx:proxy`;
    await push(images.nginx, 'pier-test/nginx:proxy');
    log('registry ready, proxy image pushed');
    const hostExec = async (name: string, argv: string[]) => {
      const h = hosts.find((x) => x.name === name);
      if (!h) throw new Error(`no host ${name}`);
      return docker('exec', h.container, ...argv);
    };
    await Promise.all(
      hosts.map(async (h) => {
        h.sshPort = await publishedPort(h.container, '22/tcp');
        await poll(`${h.name} dockerd`, async () => ((await exec(['docker', 'exec', h.container, 'docker', 'info'], { nothrow: true })).code === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
        h.fingerprint = await poll(`${h.name} host key`, async () => /SHA256:\S+/.exec(await hostExec(h.name, ['ssh-keygen', '-lf', '/etc/ssh/ssh_host_ed25519_key.pub']))?.[0], { timeoutMs: 10_000, intervalMs: 300 });
        // The proxy image is pre-loaded so deploy timings measure the app, not a 270 MB pull.
        await hostExec(h.name, ['docker', 'pull', '--quiet', proxyImage]);
        log(`${h.name} ready (ssh 127.0.0.1:${h.sshPort})`);
      }),
    );
    // HTTP to each host's port 80, TCP (TLS passed through) to each host's 443 (proxy.tls).
    const lbConf = renderLoadBalancerMain({ backends: hosts.map((h) => `${h.alias}:80`), tlsBackends: hosts.map((h) => `${h.alias}:443`) });
    const lb = await docker(
      'run', '--detach', ...labels, '--network', network, '--publish', '127.0.0.1::80', '--publish', '127.0.0.1::443', '--env', `PIER_LB_CONF=${lbConf}`,
      '--entrypoint', 'sh', images.nginx, '-c', 'printf "%s" "$PIER_LB_CONF" > /etc/nginx/nginx.conf && exec nginx -g "daemon off;"',
    );
    containers.push(lb);
    const lbPort = await publishedPort(lb, '80/tcp');
    const lbTlsPort = await publishedPort(lb, '443/tcp');
    const services: Fleet['services'] = {};
    if (opts.services) {
      // The production database and cache of the example app: one each per fleet, reached by IP
      // (the hosts' inner containers do not use the fleet network's DNS).
      const ipOf = async (c: string) => (await docker('inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, c)).trim();
      const pg = await docker('run', '--detach', ...labels, '--network', network, '--env', 'POSTGRES_USER=api', '--env', 'POSTGRES_PASSWORD=fleet-db-pass', '--env', 'POSTGRES_DB=api', images.postgres);
      containers.push(pg);
      const rd = await docker('run', '--detach', ...labels, '--network', network, images.redis);
      containers.push(rd);
      await poll('postgres', async () => ((await exec(['docker', 'exec', pg, 'pg_isready', '-U', 'api', '-d', 'api', '-h', '127.0.0.1'], { nothrow: true })).code === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
      await poll('redis', async () => ((await exec(['docker', 'exec', rd, 'redis-cli', 'ping'], { nothrow: true })).stdout.includes('PONG') ? true : undefined), { timeoutMs: 30_000, intervalMs: 300 });
      services.postgres = await ipOf(pg);
      services.redis = await ipOf(rd);
    }
    return { runId, network, services, hosts, registryPort, lbPort, lbTlsPort, dir, keyFile, proxyImage, push, hostExec, down };
  } catch (err) {
    await down();
    throw err;
  }
}

/** Remove everything a fleet run left (by its exact run id): for `pier dev-hosts down`. */
export async function downByRunId(runId: string): Promise<void> {
  const filter = `label=pier.run=${runId}`;
  const ids = async (...cmd: string[]) => (await docker(...cmd, '--filter', filter, '--quiet')).split('\n').filter(Boolean);
  const cs = await ids('ps', '--all');
  if (cs.length) await exec(['docker', 'rm', '--force', ...cs], { nothrow: true });
  const vs = await ids('volume', 'ls');
  if (vs.length) await exec(['docker', 'volume', 'rm', '--force', ...vs], { nothrow: true });
  const ns = await ids('network', 'ls');
  if (ns.length) await exec(['docker', 'network', 'rm', ...ns], { nothrow: true });
}
