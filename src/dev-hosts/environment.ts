/**
 * An `environments/<name>.yaml` overlay pointing at a running fleet (hosts with pinned host keys,
 * the fleet's SSH key, its registry and proxy image), for `pier dev-hosts up --env NAME` and
 * pier's own deploy tests (pure).
 */
import type { Fleet } from './fleet.ts';

export interface FleetEnvironmentOptions {
  envFile?: string;
  bakeSeconds?: number;
  drainSeconds?: number;
  healthTimeoutSeconds?: number;
  maxErrorRate?: number;
  batch?: number;
  /** Override pinned fingerprints per host name. */
  hostKeys?: Record<string, string>;
  /** Hosts stopped or unpinned. */
  omitHostKey?: boolean;
  /** Reach the hosts by their fleet-network names through web1 as a jump host. */
  viaJump?: boolean;
}

export function fleetEnvironment(fleet: Pick<Fleet, 'hosts' | 'keyFile' | 'proxyImage'>, o: FleetEnvironmentOptions = {}): Record<string, unknown> {
  return {
    ...(o.envFile ? { envFile: o.envFile } : {}),
    hosts: fleet.hosts.map((h) => ({
      name: h.name,
      address: o.viaJump ? h.alias : '127.0.0.1',
      port: o.viaJump ? 22 : h.sshPort,
      user: 'root',
      ...(o.omitHostKey ? {} : { hostKey: o.hostKeys?.[h.name] ?? h.fingerprint }),
    })),
    ssh: {
      keyFile: fleet.keyFile,
      connectTimeoutSeconds: 5,
      commandTimeoutSeconds: 120,
      parallel: 4,
      ...(o.viaJump ? { jumpHost: `root@127.0.0.1:${fleet.hosts[0]!.sshPort}`, jumpHostKey: o.hostKeys?.web1 ?? fleet.hosts[0]!.fingerprint } : {}),
    },
    deploy: {
      strategy: 'rolling',
      batch: o.batch ?? 1,
      keepReleases: 3,
      healthTimeoutSeconds: o.healthTimeoutSeconds ?? 20,
      drainSeconds: o.drainSeconds ?? 1,
      bakeSeconds: o.bakeSeconds ?? 2,
      maxErrorRate: o.maxErrorRate ?? 0.05,
      proxyPort: 80,
      registry: 'reg:5000',
      proxyImage: fleet.proxyImage,
      minFreeMb: 100,
    },
  };
}
