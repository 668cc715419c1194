/**
 * The Engine interface: the small set of operations the pipeline stages need. Stages are written
 * once against it; `docker.ts` implements it on the local Docker engine (buildx + dockerode) and
 * `dagger.ts` with the Dagger SDK. One conformance suite (test/conformance/) runs against each.
 */

/** What a prune must keep: this run's tags, and when pier last built each image (see pruneTags). */
export interface PruneGuard {
  /** Tags this run built: never removed, and they count first among the `keep` newest. */
  protect?: readonly string[];
  /** Image id -> when pier last built it (ms); ordered by this where known, by Created otherwise. */
  builtAt?: Readonly<Record<string, number>>;
}

/** An image an engine has built, addressable by that engine. */
export interface BuiltImage {
  /** Human reference, e.g. `pier/example-api:0.1.0-abc1234` (Docker: a local tag). */
  ref: string;
  /** Content id (`sha256:...`) where the engine knows one. */
  id?: string;
  /** Which Dockerfile target produced it. */
  target?: string;
}

export interface BuildSpec {
  /** Absolute path of the build context. */
  context: string;
  /** Dockerfile path relative to the context. */
  dockerfile: string;
  target?: string;
  buildArgs: Record<string, string>;
  /** BuildKit secrets: `RUN --mount=type=secret,id=<id>` sees the file at /run/secrets/<id>. Never in a layer. */
  secrets: { id: string; file: string }[];
  /** Tags to give the image (first is its ref). */
  tags: string[];
  labels?: Record<string, string>;
  /**
   * Paths kept out of the build context whatever the app's .dockerignore says (pier's own `.env`,
   * `.pier/`). The app's files are never modified.
   */
  exclude?: string[];
  onLog?: (line: string) => void;
}

/** A sidecar started next to a run or a served app, reachable by `name` on the run's network. */
export interface SidecarSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  port: number;
  /** argv run inside the sidecar until it exits 0 (readiness). */
  healthcheck?: string[];
}

export interface Mount {
  /** The image's tarball (`docker save` / asTarball) placed at `target` inside the container. */
  imageTarball?: BuiltImage;
  /** A host directory (Docker) or an engine directory, mounted read-only at `target`. */
  hostDir?: string;
  /** A single host file, mounted read-only at `target`. */
  hostFile?: string;
  /** A named cache volume kept between runs (e.g. trivy's DB). */
  cache?: string;
  target: string;
}

export interface RunSpec {
  /** An image the engine built, or a reference to pull/use. */
  image: BuiltImage | string;
  command: string[];
  env?: Record<string, string>;
  /** Env values that are secret (engine keeps them out of logs and layers). */
  secretEnv?: Record<string, string>;
  workdir?: string;
  sidecars?: SidecarSpec[];
  mounts?: Mount[];
  /** Files to read back from the container after it exits, whatever its exit code. */
  outputs?: string[];
  onLog?: (line: string) => void;
  timeoutMs?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Contents of `outputs` that existed after the run, by path. */
  files: Record<string, string>;
}

export interface ServeSpec {
  image: BuiltImage;
  port: number;
  env?: Record<string, string>;
  sidecars?: SidecarSpec[];
  /**
   * A command run once in the image (same env, same network, sidecars healthy) before the app
   * starts, e.g. database migrations; a non-zero exit fails `serve` with its output.
   */
  init?: string[];
}

/** How a served app's process ended: exit code and the last lines of each stream, demultiplexed. */
export interface AppExit {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A running app reachable from the calling process; dispose to stop it and its sidecars. */
export interface ServedApp extends AsyncDisposable {
  /** e.g. http://127.0.0.1:49153 */
  url: string;
  /** Last log lines of the app, stdout and stderr labelled (for failure messages). */
  logs(): Promise<string>;
  /**
   * Settles when the app's process ends on its own (a crash), never after stop(). Engines that
   * cannot watch the process leave it undefined; the health wait then runs to its timeout.
   */
  exited?: Promise<AppExit>;
  stop(): Promise<void>;
}

export interface RegistryAuth {
  username: string;
  /** Never printed, logged or written to a report. */
  password: string;
}

export interface PublishSpec {
  image: BuiltImage;
  /** Full reference to push to, e.g. 127.0.0.1:5000/pier/example-api:0.1.0-abc1234 */
  address: string;
  auth?: RegistryAuth;
}

export interface Published {
  ref: string;
  /** `sha256:...` manifest digest reported by the registry. */
  digest: string;
}

export interface Engine extends AsyncDisposable {
  readonly name: 'docker' | 'dagger';
  /** Id labelling everything this engine instance creates (`pier.run=<runId>`). */
  readonly runId: string;
  build(spec: BuildSpec): Promise<BuiltImage>;
  run(spec: RunSpec): Promise<RunResult>;
  serve(spec: ServeSpec): Promise<ServedApp>;
  /** Write the image as a `docker save` tarball to a host path. */
  exportTarball(image: BuiltImage, file: string): Promise<string>;
  publish(spec: PublishSpec): Promise<Published>;
  /**
   * Remove the app's older pier-built images (label `pier.app`), keeping the newest `keep` of each
   * kind (`pier.image` runtime / test) with all their tags; returns the tags removed. Optional:
   * engines without a local image store have nothing to prune.
   */
  pruneImages?(app: string, keep: number, guard?: PruneGuard): Promise<string[]>;
  /** Remove everything this run created. Idempotent. */
  close(): Promise<void>;
}

/**
 * An image the engine cannot obtain (not local and not pullable). Stages turn it into a clear
 * message; the scan stage uses it to tell "no scanner here" from a scanner that failed.
 */
export class ImageUnavailableError extends Error {
  constructor(
    readonly ref: string,
    detail: string,
  ) {
    super(`image ${ref} is not available: ${detail}`);
    this.name = 'ImageUnavailableError';
  }
}

/**
 * The app itself failed while served: it exited, never became healthy, answered errors, or its
 * init command (migrations) failed. The app's fault, so a gate failure (exit 1), not exit 3.
 */
export class AppFailedError extends Error {
  constructor(
    message: string,
    /** The message already carries the app's output. */
    readonly logsIncluded = false,
  ) {
    super(message);
    this.name = 'AppFailedError';
  }
}

/** The build itself failed (Dockerfile step, compile error): the app's fault, a gate failure. */
export class BuildFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildFailedError';
  }
}
