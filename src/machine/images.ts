/**
 * The images pier runs besides the app's own: public default, the variable that selects another
 * one, and the local stand-in `pier setup` builds where public registries cannot be reached.
 * Committed files always name the public image; stand-ins are selected by configuration only.
 */
export interface ImageChoice {
  key: string;
  env: string;
  public: string;
  local: string;
}

export const IMAGES: readonly ImageChoice[] = [
  { key: 'node', env: 'PIER_NODE_IMAGE', public: 'node:22-bookworm-slim', local: 'pier.local/node:20-bookworm' },
  { key: 'postgres', env: 'PIER_POSTGRES_IMAGE', public: 'postgres:16', local: 'pier.local/postgres:15' },
  { key: 'redis', env: 'PIER_REDIS_IMAGE', public: 'redis:7', local: 'pier.local/redis:7' },
  { key: 'nginx', env: 'PIER_NGINX_IMAGE', public: 'nginx:1.27', local: 'pier.local/nginx:1.22' },
  { key: 'registry', env: 'PIER_REGISTRY_IMAGE', public: 'registry:2', local: 'pier.local/registry:2' },
  { key: 'prometheus', env: 'PIER_PROMETHEUS_IMAGE', public: 'prom/prometheus:v2.53.0', local: 'pier.local/prometheus:2' },
  { key: 'node-exporter', env: 'PIER_NODE_EXPORTER_IMAGE', public: 'prom/node-exporter:v1.8.2', local: 'pier.local/node-exporter:1' },
  // The simulated production host (`pier dev-hosts`) has no public image: built from Debian either way.
  { key: 'sshhost', env: 'PIER_SSHHOST_IMAGE', public: 'pier/sshhost:bookworm', local: 'pier.local/sshhost:bookworm' },
];

/** The Debian base of the stand-ins, also selectable by apps whose Dockerfiles take it as a build argument (`${PIER_DEBIAN_IMAGE:-debian:bookworm}`). */
export const BASE_IMAGE = { env: 'PIER_DEBIAN_IMAGE', public: 'debian:bookworm', local: 'pier.local/debian:bookworm' } as const;

/** The image to use for `key` given the resolved variables (env > repo .env > machine file), else the public default (pure). */
export function imageFor(key: string, vars: Record<string, string | undefined>): string {
  const img = IMAGES.find((i) => i.key === key);
  if (!img) throw new Error(`unknown image key ${key}`);
  return vars[img.env] || (key === 'sshhost' ? img.local : img.public);
}
