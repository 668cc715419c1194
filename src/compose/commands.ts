/**
 * `docker compose` and `docker buildx` command lines as data: pure functions returning argv
 * arrays, compared exactly in unit tests and executed only by stack.ts / image.ts.
 */

/** One compose project: which files, which env files (interpolation), which profiles. */
export interface ComposeTarget {
  /** Compose project name: lowercase letters, digits, `-` and `_`. */
  project: string;
  /** Compose files, absolute paths, in override order. */
  files: string[];
  /** `--env-file`s in order (later ones win; the process environment wins over all). */
  envFiles: string[];
  profiles?: string[];
}

/** `docker compose --ansi never -p P --env-file E... -f F... --profile X... <sub...>` (no colour or cursor codes in captured output). */
export function composeArgv(t: ComposeTarget, ...sub: string[]): string[] {
  return [
    'docker',
    'compose',
    '--ansi',
    'never',
    '-p',
    t.project,
    ...t.envFiles.flatMap((f) => ['--env-file', f]),
    ...t.files.flatMap((f) => ['-f', f]),
    ...(t.profiles ?? []).flatMap((p) => ['--profile', p]),
    ...sub,
  ];
}

/** Validate and interpolate the files without starting anything. */
export const configCheckArgv = (t: ComposeTarget) => composeArgv(t, 'config', '--quiet');

/** The resolved model as JSON (images, builds, ports). */
export const configJsonArgv = (t: ComposeTarget) => composeArgv(t, 'config', '--format', 'json');

/** Services the active profiles enable, one a line. */
export const servicesArgv = (t: ComposeTarget) => composeArgv(t, 'config', '--services');

/** Start detached; compose itself honours `depends_on: condition: service_healthy`. */
export function upArgv(t: ComposeTarget, opts: { build?: boolean } = {}): string[] {
  return composeArgv(t, 'up', '--detach', '--remove-orphans', ...(opts.build ? ['--build'] : []));
}

/** Stop and remove containers and networks; named volumes only when `volumes` is asked for. */
export function downArgv(t: ComposeTarget, opts: { volumes?: boolean; timeoutSeconds?: number } = {}): string[] {
  return composeArgv(t, 'down', '--remove-orphans', '--timeout', String(opts.timeoutSeconds ?? 10), ...(opts.volumes ? ['--volumes'] : []));
}

/** Every container of the project, running or not, as JSON. */
export const psArgv = (t: ComposeTarget) => composeArgv(t, 'ps', '--all', '--format', 'json');

export interface LogsOptions {
  services?: string[];
  tail?: number;
  follow?: boolean;
  timestamps?: boolean;
}

export function logsArgv(t: ComposeTarget, o: LogsOptions = {}): string[] {
  return composeArgv(
    t,
    'logs',
    '--no-color',
    ...(o.tail !== undefined ? ['--tail', String(o.tail)] : []),
    ...(o.follow ? ['--follow'] : []),
    ...(o.timestamps ? ['--timestamps'] : []),
    ...(o.services ?? []),
  );
}

/** The host address a service's container port is published on (`127.0.0.1:49153`). */
export const portArgv = (t: ComposeTarget, service: string, port: number) => composeArgv(t, 'port', service, String(port));

/** What the staging app image is built from when it is absent. */
export interface ImageBuild {
  context: string;
  dockerfile: string;
  target: string;
  tag: string;
  buildArgs: Record<string, string>;
  /** CA bundle handed to the build as BuildKit secret `ca` (npm behind a proxy/private CA). */
  caFile?: string;
}

/** `docker buildx build --load ...`: the production image, as the pipeline builds it. */
export function buildxArgv(b: ImageBuild): string[] {
  return [
    'docker',
    'buildx',
    'build',
    '--load',
    ...(b.caFile ? ['--secret', `id=ca,src=${b.caFile}`] : []),
    ...Object.entries(b.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    '--target',
    b.target,
    '-f',
    b.dockerfile,
    '-t',
    b.tag,
    b.context,
  ];
}

/** Exit 0 when the image exists locally. */
export const imageInspectArgv = (ref: string) => ['docker', 'image', 'inspect', '--format', '{{.Id}}', ref];
