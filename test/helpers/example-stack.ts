// The example app's stack in real containers, for its integration test and benchmark: one
// labelled network, PostgreSQL and Redis under their DNS aliases, images built with BuildKit.
// Everything created is recorded and removed by close(), also after a failure.
import http from 'node:http';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { docker } from '../../src/docker/client.ts';
import { exec } from '../../src/util/exec.ts';
import { runLabels } from '../../src/util/run-id.ts';
import { interpolationVars } from '../../src/config/load.ts';
import { repoRoot } from './paths.ts';
import { poll } from '../../src/util/poll.ts';

export const DATABASE_URL = 'postgres://api:api@postgres:5432/api';
export const REDIS_URL = 'redis://redis:6379';
const NS = 1_000_000; // dockerode durations are in nanoseconds

/** Public images stay the defaults; `npm run setup` selects local stand-ins through the root .env. */
export function stackImages(): { node: string; postgres: string; redis: string } {
  const vars = interpolationVars(repoRoot);
  return {
    node: vars.PIER_NODE_IMAGE || 'node:22-bookworm-slim',
    postgres: vars.PIER_POSTGRES_IMAGE || 'postgres:16',
    redis: vars.PIER_REDIS_IMAGE || 'redis:7',
  };
}

/** argv for an image build of examples/api: the CA bundle is a BuildKit secret, never a layer. */
export function buildArgv(target: 'runtime' | 'test', tag: string, nodeImage: string, runId: string): string[] {
  return [
    'docker', 'buildx', 'build', '--load',
    '--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt',
    '--build-arg', `NODE_IMAGE=${nodeImage}`,
    '--label', `pier.run=${runId}`,
    '--target', target, '-t', tag,
    join(repoRoot, 'examples/api'),
  ];
}

/**
 * One HTTP request with a hard timeout (node:http, a fresh connection each time): a port that
 * Docker's proxy accepts while the app is not listening yet must fail fast, never hang.
 */
export function httpCall(url: string, opts: { method?: string; body?: string; timeoutMs?: number } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url} within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Docker's health status of a container ("starting", "healthy", "unhealthy"), if it has a check. */
export async function healthStatus(c: Docker.Container): Promise<string | undefined> {
  return (await c.inspect()).State.Health?.Status;
}

/** A container's combined log as text (non-TTY streams are multiplexed with 8-byte headers). */
export async function logsOf(c: Docker.Container): Promise<string> {
  const buf = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(out).toString('utf8');
}

/** Wait for a container to exit, bounded. */
export async function waitExit(c: Docker.Container, timeoutMs: number): Promise<number> {
  const waited = (await Promise.race([
    c.wait(),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`container still running after ${timeoutMs} ms`)), timeoutMs)),
  ])) as { StatusCode: number };
  return waited.StatusCode;
}

export class ExampleStack {
  readonly images = stackImages();
  readonly tag: string;
  readonly labels: Record<string, string>;
  private readonly networkName: string;
  private readonly created: Docker.Container[] = [];
  private readonly tags: string[] = [];
  private network: Docker.Network | undefined;

  constructor(readonly runId: string, purpose: string) {
    this.labels = runLabels(runId, { 'pier.test': purpose });
    this.tag = `pier-test/example-api:${runId}`;
    this.networkName = `pier-${purpose}-${runId}`;
  }

  /** Build a stage of examples/api/Dockerfile; the tag is removed by close(). */
  async build(target: 'runtime' | 'test', tag = target === 'runtime' ? this.tag : `${this.tag}-${target}`): Promise<string> {
    this.tags.push(tag);
    await exec(buildArgv(target, tag, this.images.node, this.runId), { timeoutMs: 240_000 });
    return tag;
  }

  /** Create the network, start PostgreSQL and Redis (tmpfs data: fast, and no unlabelled anonymous volume), wait until healthy. */
  async startServices(): Promise<{ postgres: Docker.Container; redis: Docker.Container }> {
    this.network = await docker().createNetwork({ Name: this.networkName, Labels: this.labels, CheckDuplicate: true });
    const postgres = await this.start('postgres', {
      Image: this.images.postgres,
      Env: ['POSTGRES_USER=api', 'POSTGRES_PASSWORD=api', 'POSTGRES_DB=api'],
      HostConfig: { Tmpfs: { '/var/lib/postgresql/data': 'rw' } },
      Healthcheck: { Test: ['CMD', 'pg_isready', '-U', 'api', '-d', 'api', '-h', '127.0.0.1'], Interval: 500 * NS, Timeout: 3000 * NS, Retries: 120 },
    });
    const redis = await this.start('redis', {
      Image: this.images.redis,
      HostConfig: { Tmpfs: { '/data': 'rw' } },
      Healthcheck: { Test: ['CMD', 'redis-cli', 'ping'], Interval: 500 * NS, Timeout: 3000 * NS, Retries: 120 },
    });
    await poll('postgres healthy', async () => ((await healthStatus(postgres)) === 'healthy' ? true : undefined), { timeoutMs: 60_000 });
    await poll('redis healthy', async () => ((await healthStatus(redis)) === 'healthy' ? true : undefined), { timeoutMs: 30_000 });
    return { postgres, redis };
  }

  /** Create (labelled, on the network, under a DNS alias) and start a container. */
  async start(alias: string, opts: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    const c = await docker().createContainer({
      ...opts,
      Labels: { ...this.labels, 'pier.role': alias },
      HostConfig: { NetworkMode: this.networkName, ...opts.HostConfig },
      NetworkingConfig: { EndpointsConfig: { [this.networkName]: { Aliases: [alias] } } },
    });
    this.created.push(c);
    await c.start();
    return c;
  }

  /** Start the app image publishing 127.0.0.1::3000; returns the container and its base URL. */
  async startApp(env: string[]): Promise<{ app: Docker.Container; base: string }> {
    const app = await this.start('app', {
      Image: this.tag,
      Env: [`DATABASE_URL=${DATABASE_URL}`, `REDIS_URL=${REDIS_URL}`, ...env],
      ExposedPorts: { '3000/tcp': {} },
      HostConfig: { PortBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    const port = (await app.inspect()).NetworkSettings.Ports['3000/tcp']?.[0]?.HostPort;
    if (!port) throw new Error('the app container published no port for 3000/tcp');
    return { app, base: `http://127.0.0.1:${port}` };
  }

  /** Run a one-off container on the network to completion; returns its exit code and log. */
  async runOnce(opts: Docker.ContainerCreateOptions, timeoutMs: number): Promise<{ code: number; log: string }> {
    const c = await docker().createContainer({ ...opts, Labels: this.labels, HostConfig: { NetworkMode: this.networkName } });
    this.created.push(c);
    await c.start();
    const code = await waitExit(c, timeoutMs);
    return { code, log: await logsOf(c) };
  }

  /** Remove every container, the network and the image tags (the build cache stays). */
  async close(): Promise<void> {
    await Promise.allSettled(this.created.map((c) => c.remove({ force: true, v: true })));
    await this.network?.remove().catch(() => {});
    for (const t of this.tags) await docker().getImage(t).remove({ force: true }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
