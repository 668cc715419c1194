/**
 * The Engine on the local Docker engine: builds through `docker buildx build` (BuildKit: targets,
 * build args, secrets, cache mounts), containers and networks through dockerode. Everything a run
 * creates carries `pier.run=<runId>` and `close()` removes it; a crashed run's leftovers are reaped
 * by `reap()` (src/docker/reap.ts) at the next start.
 *
 * Commands are built as data by the exported pure functions below and executed in one place.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { docker } from '../docker/client.ts';
import { reap } from '../docker/reap.ts';
import { collect, firstFileFromTar, lineSplitter, readAll } from '../docker/streams.ts';
import { EnvironmentError } from '../util/errors.ts';
import { exec } from '../util/exec.ts';
import { isDigest, repoAndTag } from '../util/image-ref.ts';
import { notYet, poll } from '../util/poll.ts';
import { redact, registerSecret } from '../util/redact.ts';
import { runLabels } from '../util/run-id.ts';
import { demuxDockerStream, formatStreams } from './streams.ts';
import {
  AppFailedError,
  BuildFailedError,
  ImageUnavailableError,
  type AppExit,
  type BuildSpec,
  type BuiltImage,
  type Engine,
  type Mount,
  type PublishSpec,
  type PruneGuard,
  type Published,
  type RunResult,
  type RunSpec,
  type ServeSpec,
  type ServedApp,
  type SidecarSpec,
} from './types.ts';

export interface DockerEngineOptions {
  runId: string;
  /** Build without BuildKit's cache (cold builds for benchmarks). */
  noCache?: boolean;
  /** How long a sidecar may take to pass its healthcheck. */
  sidecarTimeoutMs?: number;
}

/** argv of the `docker buildx build` for a spec (pure; compared exactly in unit tests). */
export function buildxArgv(spec: BuildSpec, iidFile: string, opts: { noCache?: boolean } = {}): string[] {
  const argv = ['docker', 'buildx', 'build', '--progress=plain', '--load', '--iidfile', iidFile];
  argv.push('-f', resolve(spec.context, spec.dockerfile));
  if (spec.target) argv.push('--target', spec.target);
  for (const [k, v] of Object.entries(spec.buildArgs)) argv.push('--build-arg', `${k}=${v}`);
  for (const s of spec.secrets) argv.push('--secret', `id=${s.id},src=${s.file}`);
  for (const t of spec.tags) argv.push('-t', t);
  for (const [k, v] of Object.entries(spec.labels ?? {})) argv.push('--label', `${k}=${v}`);
  if (opts.noCache) argv.push('--no-cache');
  argv.push(spec.context);
  return argv;
}

/**
 * The ignore file that keeps `exclude` out of the context (pure): the app's own rules (its
 * `<Dockerfile>.dockerignore`, else `.dockerignore`) with pier's excludes appended, so they win.
 */
export function mergedDockerignore(userRules: string | undefined, exclude: string[]): string {
  const base = userRules ? `${userRules.replace(/\s*$/, '')}\n` : '';
  return `${base}# added by pier: never in an image, whatever the rules above say\n${exclude.join('\n')}\n`;
}

/** Tag pier gives a build: `<version>-<sha>[-dirty[-<hash>]]` or `-nogit`, `-test` for the test image. */
const PIER_TAG = /-(nogit|[0-9a-f]{7,40}(-dirty(-[0-9a-f]{4,})?)?)(-test)?$/;

export interface ImageSummary {
  Id: string;
  Created: number;
  RepoTags?: string[] | null;
  Labels?: Record<string, string> | null;
}

/**
 * Which tags to remove so only the newest `keep` images of each kind stay (pure). Only images
 * pier built for the app (`pier.app`, `pier.image`) and only tags pier gave them (the version-sha
 * pattern, also under a registry prefix) are touched; `latest` or a user's own tags never are.
 * "Newest" is when pier last built the image (`builtAt`), not its Created time: BuildKit dates an
 * image by its newest layer, so a build served wholly from cache looks as old as its first build.
 * The tags of `protect` (what this run built) count as the newest and are never removed.
 */
export function pruneTags(images: ImageSummary[], app: string, keep: number, guard: PruneGuard = {}): string[] {
  const protect = new Set(guard.protect ?? []);
  const builtAt = guard.builtAt ?? {};
  const age = (img: ImageSummary): number =>
    (img.RepoTags ?? []).some((t) => protect.has(t)) ? Number.POSITIVE_INFINITY : (builtAt[img.Id] ?? img.Created * 1000);
  const out: string[] = [];
  for (const kind of ['runtime', 'test']) {
    const mine = images
      .filter((i) => i.Labels?.['pier.app'] === app && i.Labels?.['pier.image'] === kind)
      .sort((a, b) => age(b) - age(a));
    for (const img of mine.slice(keep)) {
      if ((img.RepoTags ?? []).some((t) => protect.has(t))) continue;
      out.push(...(img.RepoTags ?? []).filter((t) => PIER_TAG.test(t)));
    }
  }
  return out;
}

/** `docker save` argv writing an image tarball. */
export function saveArgv(ref: string, file: string): string[] {
  return ['docker', 'save', '-o', file, ref];
}

/** The Docker container config of a sidecar (pure). */
export function sidecarContainerConfig(s: SidecarSpec, network: string, labels: Record<string, string>): Docker.ContainerCreateOptions {
  return {
    Image: s.image,
    Env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...labels, 'pier.role': 'sidecar', 'pier.sidecar': s.name },
    HostConfig: { NetworkMode: network, AutoRemove: false },
    NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [s.name] } } },
  };
}

interface RunNetwork {
  name: string;
  containers: Docker.Container[];
}

export class DockerEngine implements Engine {
  readonly name = 'docker' as const;
  readonly runId: string;
  private readonly d = docker();
  private readonly abort = new AbortController();
  private readonly tmp: string;
  private seq = 0;
  private closed = false;
  private readonly live = new Set<RunNetwork>();

  constructor(private readonly opts: DockerEngineOptions) {
    this.runId = opts.runId;
    this.tmp = mkdtempSync(join(tmpdir(), `pier-${opts.runId}-`));
  }

  private labels(extra: Record<string, string> = {}) {
    return runLabels(this.runId, extra);
  }

  /** Build one target with buildx; the first tag is the image's ref. */
  async build(spec: BuildSpec): Promise<BuiltImage> {
    const iid = join(this.tmp, `iid-${++this.seq}`);
    const argv = buildxArgv(this.withExcludes(spec), iid, { noCache: this.opts.noCache });
    const split = lineSplitter(spec.onLog);
    const r = await exec(argv, { signal: this.abort.signal, onOutput: (c) => split(c), nothrow: true });
    if (r.code !== 0) {
      const tail = redact(r.stderr || r.stdout).trim().split('\n').slice(-20).join('\n');
      throw new BuildFailedError(`docker buildx build${spec.target ? ` --target ${spec.target}` : ''} failed (exit ${r.code})\n${tail}`);
    }
    return { ref: spec.tags[0] ?? readFileSync(iid, 'utf8').trim(), id: readFileSync(iid, 'utf8').trim(), target: spec.target };
  }

  /**
   * BuildKit reads `<Dockerfile>.dockerignore` next to the Dockerfile before the context's
   * `.dockerignore`: a copy of the Dockerfile in this run's temp dir with the merged rules beside
   * it keeps `spec.exclude` out without touching the app's files.
   */
  private withExcludes(spec: BuildSpec): BuildSpec {
    if (!spec.exclude?.length) return spec;
    const dockerfile = resolve(spec.context, spec.dockerfile);
    const own = [`${dockerfile}.dockerignore`, join(spec.context, '.dockerignore')].find((f) => existsSync(f));
    const dir = join(this.tmp, `dockerfile-${++this.seq}`);
    mkdirSync(dir);
    const copy = join(dir, basename(dockerfile));
    writeFileSync(copy, readFileSync(dockerfile));
    writeFileSync(`${copy}.dockerignore`, mergedDockerignore(own ? readFileSync(own, 'utf8') : undefined, spec.exclude));
    return { ...spec, dockerfile: copy };
  }

  /**
   * Older pier-built images of the app: their pier tags removed (never forced: in-use ones stay;
   * never the `protect`ed tags, the ones this run built; see pruneTags for the order).
   */
  async pruneImages(app: string, keep: number, guard: PruneGuard = {}): Promise<string[]> {
    const images = (await this.d.listImages({ filters: JSON.stringify({ label: [`pier.app=${app}`] }) })) as ImageSummary[];
    const removed: string[] = [];
    for (const tag of pruneTags(images, app, keep, guard)) {
      const ok = await this.d.getImage(tag).remove({ noprune: false }).then(() => true, () => false);
      if (ok) removed.push(tag);
    }
    return removed;
  }

  /** Make sure an image is present locally, pulling it if not; ImageUnavailableError otherwise. */
  async ensureImage(ref: string): Promise<void> {
    try {
      await this.d.getImage(ref).inspect();
      return;
    } catch {
      /* not local: try to pull */
    }
    try {
      const stream = await this.d.pull(ref);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve, reject) => this.d.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()))),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('pull timed out after 10 min')), 600_000))),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      throw new ImageUnavailableError(ref, (err as Error).message);
    }
  }

  private async network(): Promise<RunNetwork> {
    const name = `pier-${this.runId}-${++this.seq}`;
    await this.d.createNetwork({ Name: name, Labels: this.labels(), CheckDuplicate: true });
    const net = { name, containers: [] };
    this.live.add(net);
    return net;
  }

  private async teardown(net: RunNetwork): Promise<void> {
    this.live.delete(net);
    await Promise.all(net.containers.map((c) => c.remove({ force: true, v: true }).catch(() => undefined)));
    await this.d.getNetwork(net.name).remove().catch(() => undefined);
  }

  private async startSidecars(net: RunNetwork, sidecars: SidecarSpec[]): Promise<void> {
    for (const s of sidecars) await this.ensureImage(s.image);
    const started = await Promise.all(
      sidecars.map(async (s) => {
        const c = await this.d.createContainer({ ...sidecarContainerConfig(s, net.name, this.labels()), name: `${net.name}-${s.name}` });
        net.containers.push(c);
        await c.start();
        return { s, c };
      }),
    );
    await Promise.all(started.map(({ s, c }) => this.waitHealthy(s, c)));
  }

  /** Run the sidecar's healthcheck inside it until it exits 0 (bounded in time). */
  private async waitHealthy(s: SidecarSpec, c: Docker.Container): Promise<void> {
    if (!s.healthcheck?.length) return;
    const check = async () => {
      this.throwIfClosed();
      const info = await c.inspect();
      if (!info.State.Running) throw new EnvironmentError(`sidecar ${s.name} (${s.image}) exited with ${info.State.ExitCode}`);
      const ex = await c.exec({ Cmd: s.healthcheck, AttachStdout: true, AttachStderr: true });
      const stream = await ex.start({ hijack: true, stdin: false });
      const out = await collect(this.d, stream);
      const { ExitCode } = await ex.inspect();
      return ExitCode === 0 ? true : notYet((out.stdout + out.stderr).trim());
    };
    await poll(`sidecar ${s.name}`, check, {
      timeoutMs: this.opts.sidecarTimeoutMs ?? 60_000,
      intervalMs: 300,
      retry: () => false, // an exited sidecar or a lost engine is final
      onGiveUp: (e) => new EnvironmentError(`sidecar ${s.name} did not become healthy: ${s.healthcheck!.join(' ')}${e.last ? `: ${e.last}` : ''}`),
    });
  }

  private throwIfClosed(): void {
    if (this.closed) throw new EnvironmentError('the run was interrupted');
  }

  private async binds(mounts: Mount[] = []): Promise<{ Binds: string[]; Mounts: Docker.MountSettings[] }> {
    const Binds: string[] = [];
    const Mounts: Docker.MountSettings[] = [];
    for (const m of mounts) {
      if (m.hostDir) Binds.push(`${m.hostDir}:${m.target}:ro`);
      else if (m.hostFile) Binds.push(`${m.hostFile}:${m.target}:ro`);
      else if (m.imageTarball) {
        const file = await this.exportTarball(m.imageTarball, join(this.tmp, `image-${++this.seq}.tar`));
        Binds.push(`${file}:${m.target}:ro`);
      } else if (m.cache) {
        // Caches outlive runs on purpose (e.g. trivy's DB): labelled pier.cache, not pier.run.
        const name = `pier-cache-${m.cache}`;
        await this.d.createVolume({ Name: name, Labels: { 'pier.cache': m.cache } }).catch(() => undefined);
        Mounts.push({ Type: 'volume', Source: name, Target: m.target });
      }
    }
    return { Binds, Mounts };
  }

  /** Run a command to completion next to its sidecars; outputs are read back whatever the exit code. */
  async run(spec: RunSpec): Promise<RunResult> {
    const ref = typeof spec.image === 'string' ? spec.image : spec.image.ref;
    await this.ensureImage(ref);
    for (const v of Object.values(spec.secretEnv ?? {})) registerSecret(v);
    const net = await this.network();
    try {
      await this.startSidecars(net, spec.sidecars ?? []);
      const env = { ...spec.env, ...spec.secretEnv };
      const c = await this.d.createContainer({
        Image: ref,
        Cmd: spec.command,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        WorkingDir: spec.workdir,
        Labels: this.labels({ 'pier.role': 'run' }),
        HostConfig: { NetworkMode: net.name, ...(await this.binds(spec.mounts)) },
      });
      net.containers.push(c);
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      // One splitter per stream: interleaved chunks must not glue a stdout and a stderr line together.
      const splitOut = lineSplitter(spec.onLog);
      const splitErr = lineSplitter(spec.onLog);
      stdout.on('data', (b: Buffer) => ((out += b.toString()), splitOut(b.toString())));
      stderr.on('data', (b: Buffer) => ((err += b.toString()), splitErr(b.toString())));
      const attach = await c.attach({ stream: true, stdout: true, stderr: true });
      this.d.modem.demuxStream(attach, stdout, stderr);
      const ended = new Promise<void>((r) => attach.on('end', r));
      await c.start();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => {
        if (spec.timeoutMs) timer = setTimeout(() => r('timeout'), spec.timeoutMs);
      });
      const waited = await Promise.race([c.wait() as Promise<{ StatusCode: number }>, timedOut]);
      clearTimeout(timer);
      if (waited === 'timeout') {
        await c.kill().catch(() => undefined);
        throw new EnvironmentError(`${spec.command.join(' ')} timed out after ${spec.timeoutMs} ms`);
      }
      // Let the attached output drain, but not past 2 s; the timer must not outlive the race, or it
      // keeps the process alive after the pipeline has finished.
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((r) => (drainTimer = setTimeout(r, 2000)))]);
      clearTimeout(drainTimer);
      const files: Record<string, string> = {};
      const workdir = spec.outputs?.some((p) => !p.startsWith('/')) ? ((await c.inspect()).Config.WorkingDir || '/') : '/';
      for (const path of spec.outputs ?? []) {
        try {
          // A relative output is relative to the container's working directory (as in the command).
          const stream = await c.getArchive({ path: path.startsWith('/') ? path : `${workdir.replace(/\/$/, '')}/${path}` });
          const file = firstFileFromTar(await readAll(stream));
          if (file) files[path] = file.toString('utf8');
        } catch {
          /* absent output: left out of files */
        }
      }
      return { exitCode: waited.StatusCode, stdout: redact(out), stderr: redact(err), files };
    } finally {
      await this.teardown(net);
    }
  }

  /** Start the image and its sidecars; the app's port is published on a random 127.0.0.1 port. */
  async serve(spec: ServeSpec): Promise<ServedApp> {
    await this.ensureImage(spec.image.ref);
    const net = await this.network();
    try {
      await this.startSidecars(net, spec.sidecars ?? []);
      if (spec.init?.length) await this.runInit(net, spec);
      const port = `${spec.port}/tcp`;
      const c = await this.d.createContainer({
        Image: spec.image.ref,
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        Labels: this.labels({ 'pier.role': 'app' }),
        ExposedPorts: { [port]: {} },
        HostConfig: { NetworkMode: net.name, PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } },
      });
      net.containers.push(c);
      await c.start();
      const info = await c.inspect();
      const hostPort = info.NetworkSettings.Ports[port]?.[0]?.HostPort;
      if (!hostPort) throw new EnvironmentError(`port ${spec.port} of ${spec.image.ref} was not published`);
      let stopping = false;
      const streams = async () => {
        const s = demuxDockerStream(await c.logs({ stdout: true, stderr: true, tail: 50 }));
        return { stdout: redact(s.stdout), stderr: redact(s.stderr) };
      };
      // Settles only when the app ends by itself: the health wait reports a crash at once.
      const exited = new Promise<AppExit>((resolve) => {
        (c.wait() as Promise<{ StatusCode: number }>)
          .then(async ({ StatusCode }) => {
            if (!stopping && !this.closed) resolve({ exitCode: StatusCode, ...(await streams()) });
          })
          .catch(() => undefined);
      });
      const stop = () => ((stopping = true), this.teardown(net));
      return {
        url: `http://127.0.0.1:${hostPort}`,
        logs: async () => formatStreams(await streams()),
        exited,
        stop,
        [Symbol.asyncDispose]: stop,
      };
    } catch (err) {
      await this.teardown(net);
      throw err;
    }
  }

  /** The serve spec's init command, to completion, on the app's network. */
  private async runInit(net: RunNetwork, spec: ServeSpec): Promise<void> {
    const c = await this.d.createContainer({
      Image: spec.image.ref,
      Cmd: spec.init,
      Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Labels: this.labels({ 'pier.role': 'init' }),
      HostConfig: { NetworkMode: net.name },
    });
    net.containers.push(c);
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      const s = demuxDockerStream(await c.logs({ stdout: true, stderr: true, tail: 30 }));
      const logs = formatStreams({ stdout: redact(s.stdout), stderr: redact(s.stderr) });
      throw new AppFailedError(`${spec.init!.join(' ')} exited ${StatusCode} before the app started:\n${logs}`);
    }
  }

  async exportTarball(image: BuiltImage, file: string): Promise<string> {
    await exec(saveArgv(image.ref, file), { signal: this.abort.signal });
    return file;
  }

  /** Tag and push with dockerode; auth goes in the API header, never on argv or disk. */
  async publish(spec: PublishSpec): Promise<Published> {
    if (spec.auth) registerSecret(spec.auth.password);
    const { repo, tag } = repoAndTag(spec.address);
    await this.d.getImage(spec.image.ref).tag({ repo, tag });
    const authconfig = spec.auth ? { username: spec.auth.username, password: spec.auth.password, serveraddress: repo.split('/')[0] } : undefined;
    const stream = await this.d.getImage(spec.address).push({ tag, authconfig } as Docker.ImagePushOptions);
    let digest = '';
    let error = '';
    await new Promise<void>((resolve) =>
      this.d.modem.followProgress(
        stream,
        () => resolve(),
        (e: { aux?: { Digest?: string }; error?: string; errorDetail?: { message?: string } }) => {
          if (e.aux?.Digest) digest = e.aux.Digest;
          if (e.error) error = e.errorDetail?.message ?? e.error;
        },
      ),
    );
    if (error || !isDigest(digest)) {
      throw new EnvironmentError(`push of ${spec.address} failed: ${redact(error || 'no digest reported')}`);
    }
    return { ref: spec.address, digest };
  }

  /** Remove every container, network and volume of this run (idempotent), kill running builds. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await Promise.all([...this.live].map((n) => this.teardown(n)));
    await reap({ runId: this.runId }).catch(() => undefined);
    rmSync(this.tmp, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
