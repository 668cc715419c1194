/**
 * An accessory's Docker commands as argv (pure): its container, published only on the address the
 * config names (127.0.0.1 by default, never all interfaces unless written), its named volumes,
 * its env file. Labelled `pier.accessory` (never `pier.app`/`pier.run`: release listings, pruning
 * and `pier reap` leave accessories alone).
 */
import { logArgs, type LogLimits } from './docker.ts';
import { HOST_NETWORK } from './layout.ts';

export interface AccessorySpec {
  app: string;
  name: string;
  image: string;
  port?: number;
  bind: string;
  /** `name:/path[:ro]` (a named volume `<app>-<name>`) or `/host/path:/path[:ro]`. */
  volumes: readonly string[];
  envFile?: string;
  command?: readonly string[];
  /** Bounded logs (deploy.logging). */
  logging?: LogLimits;
}

/** The accessory's container name on its host: `<app>-<name>`. */
export const accessoryContainer = (app: string, name: string): string => `${app}-${name}`;

/** Where the accessory's env file is written (0600) on its host, in a directory of its own. */
export const accessoryEnvFile = (dir: string, app: string, name: string): string => `${dir.replace(/\/+$/, '')}/${app}/accessories/${name}/${name}.env`;

/** `name:/path` -> `<app>-name:/path`; absolute host paths as written. */
export function accessoryVolume(app: string, v: string): string {
  return v.startsWith('/') ? v : `${app}-${v}`;
}

export function runAccessory(s: AccessorySpec): string[] {
  return [
    'docker', 'run', '--detach',
    '--name', accessoryContainer(s.app, s.name),
    '--network', HOST_NETWORK,
    '--restart', 'unless-stopped',
    '--label', `pier.accessory=${s.name}`,
    '--label', `pier.accessory.app=${s.app}`,
    ...(s.port ? ['--publish', `${s.bind}:${s.port}:${s.port}`] : []),
    ...(s.envFile ? ['--env-file', s.envFile] : []),
    ...s.volumes.flatMap((v) => ['--volume', accessoryVolume(s.app, v)]),
    ...logArgs(s.logging),
    s.image,
    ...(s.command ?? []),
  ];
}

/** State, start time and id in one line (absent: exit 1). */
export const accessoryState = (container: string): string[] => ['docker', 'inspect', '--format', '{{.State.Status}} {{.State.StartedAt}} {{.Id}}', container];
