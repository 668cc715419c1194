/** Where pier keeps its state on a host: one directory holds releases, lock, audit log and proxy. */
export interface HostLayout {
  dir: string;
  lockDir: string;
  lockInfo: string;
  auditLog: string;
  releasesLog: string;
  currentFile: string;
  envDir: string;
  /** The app's one runtime env file (docker --env-file format); per-release files are gone. */
  envFile: string;
  nginxDir: string;
  upstreamConf: string;
  logDir: string;
  accessLog: string;
  /** The proxy's log rotation settings (read by the loop in the proxy container). */
  rotateConf: string;
}

/** The per-host layout under `dir` (deploy.dir, default /var/lib/pier). */
export function hostLayout(dir: string, app: string): HostLayout {
  const d = dir.replace(/\/+$/, '');
  return {
    dir: d,
    lockDir: `${d}/lock`,
    lockInfo: `${d}/lock/info.json`,
    auditLog: `${d}/audit.log`,
    releasesLog: `${d}/${app}/releases.jsonl`,
    currentFile: `${d}/${app}/current.json`,
    envDir: `${d}/${app}/env`,
    envFile: `${d}/${app}/env/${app}.env`,
    nginxDir: `${d}/nginx`,
    upstreamConf: `${d}/nginx/pier.conf`,
    logDir: `${d}/logs`,
    accessLog: `${d}/logs/access.log`,
    rotateConf: `${d}/logs/rotate.conf`,
  };
}

/** A non-web role's records: current.json and releases.jsonl beside the web ones, per role. */
export function roleLayout(l: HostLayout, app: string, role: string): { currentFile: string; releasesLog: string } {
  const d = `${l.dir}/${app}/roles/${role}`;
  return { currentFile: `${d}/current.json`, releasesLog: `${d}/releases.jsonl` };
}

/** Docker object names on a host. Only pier's own containers use these names. */
export const PROXY_CONTAINER = 'pier-proxy';
export const HOST_NETWORK = 'pier';

/**
 * Container name of one start of a release: `<app>-<version>-<suffix>` with anything unsafe
 * replaced. Every start gets a fresh suffix, so starting a release again (a re-run deploy of the
 * same version) never has to remove or replace the container a proxy may be pointing at.
 */
export function releaseContainer(app: string, version: string, suffix?: string, role?: string): string {
  if (role) return releaseContainer(`${app}-${role}`, version, suffix);
  return `${app}-${version.replace(/[^a-zA-Z0-9_.-]/g, '_')}${suffix ? `-${suffix}` : ''}`;
}
