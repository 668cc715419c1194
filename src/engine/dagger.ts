/**
 * The Engine interface on Dagger (@dagger.io/dagger 0.21.x). The same class serves two callers:
 *  - the Dagger module (dagger/src/index.ts): `client` is the module's global `dag`, and the
 *    repository is a `Directory` argument, mapped onto a virtual host root (`source`);
 *  - the CLI (`pier ci --engine dagger`): `openDaggerEngine()` connects to the session in
 *    DAGGER_SESSION_PORT (or one started by a `dagger` CLI on PATH) and host paths are uploaded.
 *
 * Dagger objects are lazy: nothing runs until a value is awaited. Each Engine method awaits exactly
 * what the stage needs (a build's sync, an exec's exit code and outputs, a publish's digest), so
 * the GraphQL queries it sends are few and predictable; test/dagger/ records and validates them.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import {
  CacheSharingMode,
  ExecError,
  GraphQLRequestError,
  ReturnType,
  connection,
  dag,
  type Client,
  type Container,
  type Directory,
  type File,
  type Secret,
  type Service,
} from '@dagger.io/dagger';
import { ConfigError, EnvironmentError } from '../util/errors.ts';
import { digestOf } from '../util/image-ref.ts';
import { newRunId } from '../util/run-id.ts';
import { registerSecret } from '../util/redact.ts';
import { AppFailedError, BuildFailedError, ImageUnavailableError } from './types.ts';
import type {
  BuildSpec,
  BuiltImage,
  Engine,
  Mount,
  PublishSpec,
  Published,
  RunResult,
  RunSpec,
  ServeSpec,
  ServedApp,
  SidecarSpec,
} from './types.ts';

/** Dagger's `setSecret` refuses plaintexts larger than this (schema doc of Query.setSecret). */
export const SET_SECRET_LIMIT = 128_000;

/** Patterns never uploaded from a host directory (same list as the module's `ignore`). */
export const DEFAULT_EXCLUDE = ['**/node_modules', '.git', '.pier', '.env'];

export interface DaggerEngineOptions {
  /** `dag` inside a module, or the global client of a `connection()`. */
  client: Client;
  runId?: string;
  /**
   * Host paths under `root` resolve inside `dir`. In a module the repository arrives as a
   * Directory argument and the config is materialised under a temporary `root`.
   */
  source?: { root: string; dir: Directory };
  /**
   * How the calling process reaches a served app: `tunnel` (CLI on a host: host().tunnel) or
   * `direct` (module code runs inside the session's network and can use the endpoint as is).
   */
  reach?: 'tunnel' | 'direct';
  /** Upload exclusions for host directories. */
  exclude?: string[];
  /**
   * Secrets the caller already holds as Dagger Secrets (the module's `--password`), by plaintext:
   * used as they are instead of being sent back to the engine through setSecret.
   */
  knownSecrets?: Map<string, Secret>;
  /** Runs once on close(), e.g. to end the connection opened by openDaggerEngine. */
  onClose?: () => Promise<void>;
}

/** The registry host part of an image reference (`127.0.0.1:5000/a/b:t` -> `127.0.0.1:5000`). */
export function registryHost(address: string): string {
  const first = address.split('/')[0] ?? address;
  const isHost = address.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? first : 'docker.io';
}

/** The `sha256:...` digest in the `ref@sha256:...` string `Container.publish` returns. */
export function publishedDigest(publishedRef: string): string {
  const digest = digestOf(publishedRef);
  if (!digest) throw new EnvironmentError(`Dagger publish returned no digest: ${publishedRef}`);
  return digest;
}

/** A stable secret name for one run, safe for Dagger's name rules. */
function secretName(runId: string, id: string): string {
  return `pier-${runId}-${id}`.replace(/[^A-Za-z0-9_.-]/g, '-');
}

export class DaggerEngine implements Engine {
  readonly name = 'dagger' as const;
  readonly runId: string;
  private readonly client: Client;
  private readonly images = new Map<string, Container>();
  private readonly served = new Set<ServedApp>();
  private closed = false;

  constructor(private readonly opts: DaggerEngineOptions) {
    this.client = opts.client;
    this.runId = opts.runId ?? newRunId();
  }

  /** A host directory as an engine Directory (mapped into `source` when it lies under its root). */
  directory(path: string): Directory {
    const rel = this.underSource(path);
    if (rel !== undefined) return rel === '' ? this.opts.source!.dir : this.opts.source!.dir.directory(rel);
    return this.client.host().directory(resolve(path), { exclude: this.opts.exclude ?? DEFAULT_EXCLUDE });
  }

  /** A host file as an engine File. */
  file(path: string): File {
    const rel = this.underSource(path);
    if (rel !== undefined) return this.opts.source!.dir.file(rel);
    return this.client.host().file(resolve(path));
  }

  private underSource(path: string): string | undefined {
    if (!this.opts.source) return undefined;
    const rel = relative(this.opts.source.root, resolve(this.opts.source.root, path));
    return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel;
  }

  /** Pull a reference (once per engine); ImageUnavailableError when the engine cannot get it. */
  private async pulled(ref: string): Promise<Container> {
    const known = this.images.get(ref);
    if (known) return known;
    try {
      const ctr = await this.client.container().from(ref).sync();
      this.images.set(ref, ctr);
      return ctr;
    } catch (e) {
      if (e instanceof GraphQLRequestError) throw new ImageUnavailableError(ref, e.message);
      throw e;
    }
  }

  /** The Container behind an image this engine built, or a pulled reference. */
  container(image: BuiltImage | string): Container {
    if (typeof image === 'string') return this.images.get(image) ?? this.client.container().from(image);
    const built = this.images.get(image.ref);
    if (!built) throw new EnvironmentError(`image ${image.ref} was not built by this Dagger engine (run ${this.runId})`);
    return built;
  }

  /** A secret from a value; the name is per run, the plaintext is registered for redaction. */
  secret(id: string, plaintext: string): Secret {
    registerSecret(plaintext);
    const known = this.opts.knownSecrets?.get(plaintext);
    if (known) return known;
    return this.client.setSecret(secretName(this.runId, id), plaintext);
  }

  /**
   * BuildKit secrets: the build sees `/run/secrets/<id>` because the Dagger secret is named `<id>`.
   * A file over setSecret's limit (a full CA bundle is ~220 kB) is left out with a log line: secret
   * mounts are optional in BuildKit, and a Dagger engine applies its own CA configuration.
   */
  private buildSecrets(spec: BuildSpec): Secret[] {
    const out: Secret[] = [];
    for (const s of spec.secrets) {
      const size = statSync(s.file).size;
      if (size > SET_SECRET_LIMIT) {
        spec.onLog?.(`dagger: build secret "${s.id}" (${s.file}, ${size} bytes) is over setSecret's ${SET_SECRET_LIMIT} bytes: not passed`);
        continue;
      }
      const plaintext = readFileSync(s.file, 'utf8');
      registerSecret(plaintext);
      out.push(this.client.setSecret(s.id, plaintext));
    }
    return out;
  }

  async build(spec: BuildSpec): Promise<BuiltImage> {
    const ref = spec.tags[0];
    if (!ref) throw new ConfigError([{ file: 'pier.yaml', path: 'app.image', message: 'a build needs at least one tag' }]);
    const context = spec.exclude?.length ? this.directory(spec.context).filter({ exclude: spec.exclude }) : this.directory(spec.context);
    let ctr = context.dockerBuild({
      dockerfile: spec.dockerfile,
      target: spec.target ?? '',
      buildArgs: Object.entries(spec.buildArgs).map(([name, value]) => ({ name, value })),
      secrets: this.buildSecrets(spec),
    });
    for (const [k, v] of Object.entries({ ...spec.labels, 'pier.run': this.runId })) ctr = ctr.withLabel(k, v);
    spec.onLog?.(`dagger: dockerBuild ${spec.context} target=${spec.target ?? '(last)'}`);
    // sync() forces the build now, so a failing Dockerfile fails the build stage, not a later one.
    try {
      ctr = await ctr.sync();
    } catch (e) {
      // The engine answered with an error: the Dockerfile failed (a gate). Anything else is the environment.
      if (e instanceof ExecError || e instanceof GraphQLRequestError) {
        throw new BuildFailedError(`dagger dockerBuild${spec.target ? ` --target ${spec.target}` : ''} failed: ${e.message}`);
      }
      throw new EnvironmentError(`Dagger build failed: ${(e as Error).message}`);
    }
    for (const tag of spec.tags) this.images.set(tag, ctr);
    return { ref, target: spec.target };
  }

  /** A sidecar as a Dagger Service; Dagger waits for its exposed port before binding it. */
  sidecar(s: SidecarSpec): Service {
    let ctr = this.client.container().from(s.image);
    for (const [k, v] of Object.entries(s.env)) ctr = ctr.withEnvVariable(k, v);
    return ctr.withExposedPort(s.port).asService({ useEntrypoint: true });
  }

  private withSidecars(ctr: Container, sidecars: SidecarSpec[] = []): Container {
    for (const s of sidecars) ctr = ctr.withServiceBinding(s.name, this.sidecar(s));
    return ctr;
  }

  private withMount(ctr: Container, m: Mount): Container {
    if (m.imageTarball) return ctr.withMountedFile(m.target, this.container(m.imageTarball).asTarball());
    if (m.hostDir) return ctr.withMountedDirectory(m.target, this.directory(m.hostDir));
    if (m.hostFile) return ctr.withMountedFile(m.target, this.file(m.hostFile));
    if (m.cache) {
      return ctr.withMountedCache(m.target, this.client.cacheVolume(m.cache), { sharing: CacheSharingMode.Locked });
    }
    throw new ConfigError([{ file: '(engine)', path: `mounts.${m.target}`, message: 'a mount needs imageTarball, hostDir, hostFile or cache' }]);
  }

  async run(spec: RunSpec): Promise<RunResult> {
    const base = typeof spec.image === 'string' ? await this.pulled(spec.image) : this.container(spec.image);
    let ctr = this.withSidecars(base, spec.sidecars);
    for (const m of spec.mounts ?? []) ctr = this.withMount(ctr, m);
    for (const [k, v] of Object.entries(spec.env ?? {})) ctr = ctr.withEnvVariable(k, v);
    for (const [k, v] of Object.entries(spec.secretEnv ?? {})) ctr = ctr.withSecretVariable(k, this.secret(k, v));
    if (spec.workdir) ctr = ctr.withWorkdir(spec.workdir);
    // Like a `docker run`, every run executes: the run id in the env keeps Dagger from replaying a cached exec.
    ctr = ctr.withEnvVariable('PIER_RUN', this.runId);
    // expect ANY: a non-zero exit is a result for the stage to judge (tests failed, findings), not an error.
    // useEntrypoint: like `docker run IMAGE ARGS`, the image's entrypoint (e.g. trivy's) gets the args.
    const done = ctr.withExec(spec.command, { expect: ReturnType.Any, useEntrypoint: true });
    const exec = (async () => {
      const synced = await done.sync();
      const [exitCode, stdout, stderr] = await Promise.all([synced.exitCode(), synced.stdout(), synced.stderr()]);
      const files: Record<string, string> = {};
      for (const path of spec.outputs ?? []) {
        // A missing output is normal (e.g. a crash before the report was written): leave it out.
        if (await synced.exists(path)) files[path] = await synced.file(path).contents();
      }
      return { exitCode, stdout, stderr, files };
    })();
    const result = spec.timeoutMs ? await withTimeout(exec, spec.timeoutMs, spec.command) : await exec;
    for (const line of `${result.stdout}${result.stderr}`.split('\n')) if (line) spec.onLog?.(line);
    return result;
  }

  async serve(spec: ServeSpec): Promise<ServedApp> {
    // Sidecars are started explicitly so the init command and the app share the same instances
    // (services are content-addressed: binding the same definition reuses the running one) and
    // they stay up between the two; stop() ends them.
    const sidecars = (spec.sidecars ?? []).map((s) => ({ name: s.name, svc: this.sidecar(s) }));
    const started = await Promise.all(sidecars.map(async (s) => ({ name: s.name, svc: await s.svc.start() })));
    const stopSidecars = async () => void (await Promise.all(started.map((s) => s.svc.stop().catch(() => undefined))));
    let ctr = this.container(spec.image);
    for (const s of started) ctr = ctr.withServiceBinding(s.name, s.svc);
    for (const [k, v] of Object.entries(spec.env ?? {})) ctr = ctr.withEnvVariable(k, v);
    ctr = ctr.withEnvVariable('PIER_RUN', this.runId);
    let url: string;
    let stopAll: () => Promise<void>;
    try {
      if (spec.init?.length) await this.runInit(ctr, spec.init);
      const svc = ctr.withExposedPort(spec.port).asService({ useEntrypoint: true });
      if ((this.opts.reach ?? 'tunnel') === 'tunnel') {
        // host().tunnel forwards a random host port to the service; the CLI connects to 127.0.0.1:port.
        const tunnel = await this.client.host().tunnel(svc, { ports: [{ backend: spec.port, frontend: 0 }] }).start();
        url = await tunnel.endpoint({ scheme: 'http' });
        stopAll = async () => {
          await tunnel.stop();
          await svc.stop().catch(() => undefined);
          await stopSidecars();
        };
      } else {
        const app = await svc.start();
        url = await app.endpoint({ port: spec.port, scheme: 'http' });
        stopAll = async () => {
          await app.stop();
          await stopSidecars();
        };
      }
    } catch (e) {
      await stopSidecars();
      throw e;
    }
    let stopped = false;
    const app: ServedApp = {
      url,
      // Dagger streams service output to its own UI/trace; there is no API to read it back.
      logs: async () => '(service logs are in the Dagger session output)',
      stop: async () => {
        if (stopped) return;
        stopped = true;
        this.served.delete(app);
        await stopAll();
      },
      [Symbol.asyncDispose]: () => app.stop(),
    };
    this.served.add(app);
    return app;
  }

  /** The serve spec's init command (e.g. migrations), to completion, next to the started sidecars. */
  private async runInit(ctr: Container, init: string[]): Promise<void> {
    const done = await ctr.withExec(init, { expect: ReturnType.Any, useEntrypoint: true }).sync();
    const code = await done.exitCode();
    if (code !== 0) {
      const out = `${await done.stdout()}${await done.stderr()}`.trim().split('\n').slice(-30).join('\n');
      throw new AppFailedError(`${init.join(' ')} exited ${code} before the app started:\n${out}`);
    }
  }

  async exportTarball(image: BuiltImage, file: string): Promise<string> {
    return this.container(image).asTarball().export(resolve(file));
  }

  async publish(spec: PublishSpec): Promise<Published> {
    let ctr = this.container(spec.image);
    if (spec.auth) ctr = ctr.withRegistryAuth(registryHost(spec.address), spec.auth.username, this.secret('registry-password', spec.auth.password));
    const ref = await ctr.publish(spec.address);
    return { ref, digest: publishedDigest(ref) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stops = [...this.served].map((a) => a.stop().catch(() => undefined));
    await Promise.all(stops);
    await this.opts.onClose?.();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, argv: string[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EnvironmentError(`timed out after ${ms} ms in Dagger: ${argv.join(' ')}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The innermost cause's message: the SDK wraps ECONNREFUSED in a misleading "not awaited" error. */
function rootCause(e: unknown): string {
  let cur = e as { message?: string; cause?: unknown; code?: string } | undefined;
  while (cur && typeof cur.cause === 'object' && cur.cause) cur = cur.cause as typeof cur;
  return (cur?.code ? `${cur.code}: ` : '') + String(cur?.message ?? e).split('\n')[0];
}

export interface OpenDaggerOptions {
  runId?: string;
  env?: NodeJS.ProcessEnv;
  /** A `dagger` CLI to start a session with when none is in DAGGER_SESSION_PORT. */
  cliPath?: string;
  exclude?: string[];
}

/**
 * Connect to Dagger from a host process (the CLI) and keep the connection open until close().
 * Never downloads a CLI: without a session or a `dagger` on PATH it fails with exit 3.
 */
export async function openDaggerEngine(opts: OpenDaggerOptions = {}): Promise<DaggerEngine> {
  const env = opts.env ?? process.env;
  const port = env.DAGGER_SESSION_PORT;
  if (!port && !opts.cliPath) {
    throw new EnvironmentError(
      'cannot use the Dagger engine: no Dagger session (DAGGER_SESSION_PORT unset) and no `dagger` CLI on PATH',
      'run inside `dagger run ...`, install the dagger CLI, or use --engine docker',
    );
  }
  if (port && !env.DAGGER_SESSION_TOKEN) throw new EnvironmentError('DAGGER_SESSION_PORT is set but DAGGER_SESSION_TOKEN is not');
  // The SDK reads these from process.env; pointing it at a CLI we found stops it downloading one.
  if (!port && opts.cliPath) process.env._EXPERIMENTAL_DAGGER_CLI_BIN = opts.cliPath;
  if (port) {
    process.env.DAGGER_SESSION_PORT = port;
    process.env.DAGGER_SESSION_TOKEN = env.DAGGER_SESSION_TOKEN;
  }

  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let ready!: (v: unknown) => void;
  const connected = new Promise((r) => (ready = r));
  const session = connection(async () => {
    ready(undefined);
    await released;
  });
  // A connection that fails before the callback runs rejects `session` first.
  const first = await Promise.race([connected.then(() => 'ok' as const), session.then(() => 'ended' as const, (e: unknown) => e)]);
  const where = port ? `127.0.0.1:${port}` : `dagger CLI ${opts.cliPath}`;
  if (first !== 'ok') {
    throw new EnvironmentError(`cannot connect to the Dagger engine (${where}): ${first instanceof Error ? first.message : String(first)}`);
  }
  try {
    await dag.version();
  } catch (e) {
    release();
    await session.catch(() => undefined);
    throw new EnvironmentError(`cannot connect to the Dagger engine (${where}): ${rootCause(e)}`);
  }
  return new DaggerEngine({
    client: dag,
    runId: opts.runId,
    exclude: opts.exclude,
    reach: 'tunnel',
    onClose: async () => {
      release();
      await session.catch(() => undefined);
    },
  });
}
