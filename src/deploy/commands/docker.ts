/**
 * Remote Docker commands as argv arrays (Kamal's "commands as data"). Pure: tested by exact
 * comparison; only the executor runs them.
 */
import { pinnedRef } from '../../util/image-ref.ts';
import { HOST_NETWORK, PROXY_CONTAINER } from './layout.ts';
import { PROXY_LOG_DIR, proxyCommand } from './log-rotate.ts';

export interface AppContainerSpec {
  name: string;
  image: string;
  app: string;
  version: string;
  runId: string;
  envFile?: string;
  env?: Record<string, string>;
  network?: string;
  /** `--volume` values (`name:/path[:ro]`): data that survives releases (app.volumes). */
  volumes?: string[];
  /** A role other than web (worker, scheduler): labelled `pier.role`, its own command, stop signal and drain. */
  role?: { name: string; command?: readonly string[]; stopSignal: string; drainSeconds: number };
  /** Bounded logs (deploy.logging): json-file with max-size/max-file. */
  logging?: LogLimits;
}

/** deploy.logging: the json-file driver's rotation limits. */
export interface LogLimits {
  maxSize: string;
  maxFile: number;
}

/** `--log-driver json-file --log-opt max-size=.. --log-opt max-file=..` (nothing without limits: Docker's default). */
export const logArgs = (l?: LogLimits): string[] => (l ? ['--log-driver', 'json-file', '--log-opt', `max-size=${l.maxSize}`, '--log-opt', `max-file=${l.maxFile}`] : []);

const volumeArgs = (spec: AppContainerSpec) => (spec.volumes ?? []).flatMap((v) => ['--volume', v]);
const labelArgs = (labels: Record<string, string>) => Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

/** Labels on every container pier starts on a host. */
export function releaseLabels(app: string, version: string, runId: string): Record<string, string> {
  return { 'pier.run': runId, 'pier.app': app, 'pier.release': version };
}

/** The engine answers (its version): `docker version` asks the daemon one cheap question, `docker info` gathers much more. */
export const dockerInfo = (): string[] => ['docker', 'version', '--format', '{{.Server.Version}}'];
export const pull = (ref: string): string[] => ['docker', 'pull', '--quiet', ref];
/** Pull keeping docker's plain-text report: its `Digest:` line names the bytes the tag resolved to. */
export const pullReport = (ref: string): string[] => ['docker', 'pull', ref];

/** `repo@sha256:...` of `ref` from a `docker pull` report (no inspect needed); undefined without a Digest line. Pure. */
export function digestFromPull(ref: string, report: string): string | undefined {
  const m = /^Digest: (sha256:[0-9a-f]{64})\s*$/m.exec(report);
  if (!m) return undefined;
  return pinnedRef(ref, m[1]!);
}
export const load = (): string[] => ['docker', 'load', '--quiet'];
export const tag = (src: string, dst: string): string[] => ['docker', 'tag', src, dst];
export const imageExists = (ref: string): string[] => ['docker', 'image', 'inspect', '--format', '{{.Id}}', ref];
/** The repo@sha256 digest a pulled tag resolved to (first RepoDigest). */
export const repoDigest = (ref: string): string[] => ['docker', 'image', 'inspect', '--format', '{{index .RepoDigests 0}}', ref];

/** Create the host network (the caller tolerates "already exists"). */
export const networkCreate = (name = HOST_NETWORK): string[] => ['docker', 'network', 'create', '--label', 'pier.managed=true', name];
export const networkExists = (name = HOST_NETWORK): string[] => ['docker', 'network', 'inspect', '--format', '{{.Name}}', name];

/**
 * app.volumes -> `--volume` values: a named volume becomes `<app>-<source>` (one per app on a
 * host, shared by its releases), an absolute path is bound as is.
 */
export function appVolumes(app: string, volumes: readonly { source: string; target: string; readOnly?: boolean }[]): string[] {
  return volumes.map((v) => `${v.source.startsWith('/') ? v.source : `${app}-${v.source}`}:${v.target}${v.readOnly ? ':ro' : ''}`);
}

/** Start a release's container beside whatever is serving; it only gets traffic once the proxy points at it. */
export function runApp(spec: AppContainerSpec): string[] {
  const role = spec.role;
  return [
    'docker', 'run', '--detach',
    '--name', spec.name,
    '--network', spec.network ?? HOST_NETWORK,
    '--restart', 'unless-stopped',
    ...labelArgs({ ...releaseLabels(spec.app, spec.version, spec.runId), ...(role ? { 'pier.role': role.name } : {}) }),
    // A plain `docker stop` of a role container sends its signal and waits its drain before the kill.
    // The image's HEALTHCHECK is the web's (HTTP); a role is checked by its own command.
    ...(role ? ['--stop-signal', role.stopSignal, '--stop-timeout', String(role.drainSeconds), '--no-healthcheck'] : []),
    ...logArgs(spec.logging),
    ...(spec.envFile ? ['--env-file', spec.envFile] : []),
    ...Object.entries(spec.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...volumeArgs(spec),
    spec.image,
    ...(role?.command ?? []),
  ];
}

/** Run `command` inside a running container (a role's health check by command). */
export const execIn = (container: string, command: readonly string[]): string[] => ['docker', 'exec', container, ...command];


/** A one-off release step (migrations) in the new image, same network and env as the app. */
export function runOnce(spec: AppContainerSpec, command: readonly string[]): string[] {
  return [
    'docker', 'run', '--rm',
    '--name', `${spec.name}-release-step`,
    '--network', spec.network ?? HOST_NETWORK,
    ...labelArgs({ ...releaseLabels(spec.app, spec.version, spec.runId), 'pier.step': 'migrate' }),
    ...(spec.envFile ? ['--env-file', spec.envFile] : []),
    ...Object.entries(spec.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    ...volumeArgs(spec),
    spec.image,
    ...command,
  ];
}

export interface ProxySpec {
  image: string;
  publicPort: number;
  /** Public HTTPS port (proxy.tls.port), published to the proxy's 443. */
  tlsPort?: number;
  nginxDir: string;
  logDir: string;
  logging?: LogLimits;
}

/**
 * The per-host nginx proxy owning the public port; its config and logs live in pier's host dir.
 * Its command runs nginx with the log rotation loop beside it (src/deploy/commands/log-rotate.ts).
 */
export function runProxy(spec: ProxySpec): string[] {
  return [
    'docker', 'run', '--detach',
    '--name', PROXY_CONTAINER,
    '--network', HOST_NETWORK,
    '--restart', 'unless-stopped',
    '--label', 'pier.role=proxy',
    '--publish', `${spec.publicPort}:80`,
    ...(spec.tlsPort ? ['--publish', `${spec.tlsPort}:443`] : []),
    '--volume', `${spec.nginxDir}:/etc/nginx/conf.d:ro`,
    '--volume', `${spec.logDir}:${PROXY_LOG_DIR}`,
    ...logArgs(spec.logging),
    spec.image,
    ...proxyCommand(),
  ];
}

/** The host port published to the proxy's 443 (nothing, exit 1, when none). */
export const proxyTlsPort = (): string[] => ['docker', 'port', PROXY_CONTAINER, '443/tcp'];

/** Validate the config. */
export const proxyTest = (): string[] => ['docker', 'exec', PROXY_CONTAINER, 'nginx', '-t', '-q'];
/**
 * The proxy's graceful reload, only of a config nginx accepts (run inside the proxy container), in
 * one round trip: `nginx -s reload` alone exits 0 even when the new config is rejected. It also
 * returns before nginx acts on it: until the master has told the old workers to stop, they accept
 * new connections with the old config (a request right after a rollback "done" reached the old
 * release: CI 2026-12-02). So it waits, at most 5 s, until no worker from before the reload is
 * still an accepting `nginx: worker process` (a stopping one is `... is shutting down`, its
 * listening sockets closed; it finishes its in-flight requests). No quote characters: callers
 * embed it in '...'.
 */
export const NGINX_TEST_AND_RELOAD = String.raw`w() { for d in /proc/[0-9]*; do case $(tr -d \\000 2>/dev/null <$d/cmdline) in nginx:?worker?process) echo $${'{'}d#/proc/};; esac; done; }; o=$(w); nginx -t -q && nginx -s reload && i=0 && while [ $i -lt 100 ]; do n=; for p in $o; do case $(tr -d \\000 2>/dev/null </proc/$p/cmdline) in nginx:?worker?process) n=1;; esac; done; [ -z $n ] && break; sleep 0.05; i=$((i+1)); done`;

export const proxyReload = (): string[] => ['docker', 'exec', PROXY_CONTAINER, 'sh', '-c', NGINX_TEST_AND_RELOAD];

export const start = (name: string): string[] => ['docker', 'start', name];
export const stop = (name: string, timeoutSeconds = 10): string[] => ['docker', 'stop', '--time', String(timeoutSeconds), name];
/** Remove containers (one command for several: pruning costs one round trip). */
export const remove = (...names: string[]): string[] => ['docker', 'rm', '--force', ...names];
export const logsTail = (name: string, lines = 20): string[] => ['docker', 'logs', '--tail', String(lines), name];
/** One JSON object per line: name, state, image, release label, creation time. */
export const listReleases = (app: string): string[] => [
  'docker', 'ps', '--all', '--no-trunc', '--filter', `label=pier.app=${app}`,
  '--format', '{"name":"{{.Names}}","state":"{{.State}}","image":"{{.Image}}","release":"{{.Label "pier.release"}}","role":"{{.Label "pier.role"}}","created":"{{.CreatedAt}}"}',
];
export const containerRunning = (name: string): string[] => ['docker', 'inspect', '--format', '{{.State.Running}}', name];
/** Image ID (sha256:...) of a local image: what a digest comparison uses for streamed images. */
export const imageId = (ref: string): string[] => ['docker', 'image', 'inspect', '--format', '{{.Id}}', ref];
/** Image ID a container was created from. */
export const containerImageId = (name: string): string[] => ['docker', 'inspect', '--format', '{{.Image}}', name];
/** What Docker's data uses (images, containers, local volumes, build cache): size and reclaimable, one line each. */
export const systemDf = (): string[] => ['docker', 'system', 'df', '--format', '{{.Type}}\t{{.Size}}\t{{.Reclaimable}}'];
