/**
 * nginx configuration as file content. The per-host proxy config takes weighted upstreams so the
 * canary strategy can reuse it; the access log is JSON with the release that served each request.
 *
 * Upstreams are release containers by NAME (`<container>:<port>`), resolved at request time by
 * Docker's DNS on the host's pier network (127.0.0.11), not addresses fixed at reload: after a
 * host restart Docker hands out new addresses, and the proxy (restart policy) then serves again as
 * soon as the containers are back, with nobody re-pointing it. This is how Kamal's proxy reaches
 * its targets. Open-source nginx before 1.27.3 re-resolves only names held in a variable, so the
 * target is a variable chosen per request (`split_clients` by weight, one `*` entry when alone).
 */
import { challengeLocation, PROXY_TLS_PORT, redirectLocation, tlsServerDirectives, type ProxyTls } from './nginx-tls.ts';

/** The upstream of one release: its container on the app's port. */
export function upstreamOf(rel: { container: string; version: string; image: string }, port: number, weight?: number): Upstream {
  return { address: `${rel.container}:${port}`, release: rel.version, container: rel.container, image: rel.image, ...(weight !== undefined ? { weight } : {}) };
}

export interface Upstream {
  /** `host:port` the proxy sends to: the release container's name and the app's port. */
  address: string;
  /** The release this server belongs to (logged per request). */
  release: string;
  weight?: number;
  /** The container behind the address and its image: written into the config as a comment, so
   * the config on the host says by itself which releases serve (see parseProxyServes). */
  container?: string;
  image?: string;
}

/** A release the proxy config points at, as recorded in its `# pier-serves` comments. */
export interface ProxyServes {
  address: string;
  version: string;
  container: string;
  image: string;
  weight?: number;
}

const SERVES_PREFIX = '# pier-serves ';

/**
 * Where the proxy looks for the maintenance switch (inside its container: conf.d is pier's nginx
 * directory). A glob matching nothing is allowed, so the config is the same whether it is on or off.
 */
export const MAINTENANCE_INCLUDE = '/etc/nginx/conf.d/maintenance/*.conf';

/** Docker's embedded DNS server, present in every container on a user-defined network. */
export const DOCKER_DNS = '127.0.0.11';

/**
 * The releases a proxy config (as rendered by renderProxyConf) points at, in config order; [] for a
 * config written without container identities (before pier recorded them) or no config at all.
 */
export function parseProxyServes(text: string): ProxyServes[] {
  const out: ProxyServes[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(SERVES_PREFIX)) continue;
    try {
      const v = JSON.parse(line.slice(SERVES_PREFIX.length)) as Partial<ProxyServes>;
      if (typeof v.address !== 'string' || typeof v.version !== 'string' || typeof v.container !== 'string' || typeof v.image !== 'string') return [];
      out.push({ address: v.address, version: v.version, container: v.container, image: v.image, ...(typeof v.weight === 'number' ? { weight: v.weight } : {}) });
    } catch {
      return [];
    }
  }
  return out;
}

export interface ProxyConf {
  upstreams: Upstream[];
  /** Port nginx listens on inside its container. */
  listen?: number;
  accessLog?: string;
  /** HTTPS (proxy.tls): see src/deploy/commands/nginx-tls.ts. Without it the config is plain HTTP. */
  tls?: ProxyTls;
}

/**
 * `split_clients` shares (percent, two decimals, rounded down so they never add up to more than
 * 100) for weighted upstreams; the last upstream with a weight takes the rest (`*`). Zero weights
 * get no traffic. Pure.
 */
export function trafficShares(upstreams: readonly Upstream[]): { address: string; share: string }[] {
  const live = upstreams.filter((u) => (u.weight ?? 1) > 0);
  const total = live.reduce((n, u) => n + (u.weight ?? 1), 0);
  return live.map((u, i) => ({
    address: u.address,
    share: i === live.length - 1 ? '*' : `${(Math.max(1, Math.floor(((u.weight ?? 1) / total) * 10_000)) / 100).toFixed(2).replace(/\.?0+$/, '')}%`,
  }));
}

const quoted = (s: string) => JSON.stringify(s);

/** Content of the proxy's conf.d/pier.conf. */
export function renderProxyConf(conf: ProxyConf): string {
  if (conf.upstreams.length === 0) throw new Error('renderProxyConf: at least one upstream is required');
  const shares = trafficShares(conf.upstreams);
  if (shares.length === 0) throw new Error('renderProxyConf: at least one upstream needs a weight above 0');
  const releases = conf.upstreams.map((u) => `    ${quoted(u.address)} ${quoted(u.release)};`);
  // One comment per upstream naming its container: the config is the ground truth of what serves.
  const serves = conf.upstreams.filter((u) => u.container && u.image).map((u) => `${SERVES_PREFIX}${JSON.stringify({ address: u.address, version: u.release, container: u.container, image: u.image, ...(u.weight !== undefined ? { weight: u.weight } : {}) })}`);
  return [
    '# Managed by pier deploy: rewritten on every switch.',
    ...serves,
    'log_format pier_json escape=json',
    `  '{"msec":$msec,"status":$status,"upstream":"$upstream_addr","release":"$pier_release",'`,
    `  '"upstream_status":"$upstream_status","request_time":$request_time,"uri":"$uri"}';`,
    '# Request errors (upstream refused, timed out) beside the access log, rotated with it (log-rotate.ts).',
    'error_log /var/log/pier/error.log warn;',
    '',
    '# Release containers by name, resolved per request (cached 1 s) by Docker\'s DNS: container',
    '# addresses change when the host restarts.',
    `resolver ${DOCKER_DNS} valid=1s ipv6=off;`,
    'resolver_timeout 2s;',
    '',
    'split_clients "${request_id}" $pier_upstream {',
    ...shares.map((s) => `    ${s.share} ${quoted(s.address)};`),
    '}',
    '',
    'map $pier_upstream $pier_release {',
    '    default "";',
    ...releases,
    '}',
    '',
    ...(conf.tls?.serve ? httpsServers(conf, conf.tls) : appServer(conf, `    listen ${conf.listen ?? 80} default_server;`, conf.tls ? challengeLocation() : [])),
    '',
  ].join('\n');
}

/** The server proxying to the app: plain HTTP, or (TLS) the HTTPS one. */
function appServer(conf: ProxyConf, listen: string, extra: string[], proto?: string): string[] {
  return [
    'server {',
    listen,
    ...extra,
    `    access_log ${conf.accessLog ?? '/var/log/pier/access.log'} pier_json;`,
    '    # Maintenance mode (pier maintenance on): present only while it is on (src/deploy/maintenance.ts).',
    `    include ${MAINTENANCE_INCLUDE};`,
    '    location / {',
    '        proxy_pass http://$pier_upstream;',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    ...(proto ? [`        proxy_set_header X-Forwarded-Proto ${proto};`] : []),
    '        proxy_connect_timeout 2s;',
    '    }',
    '}',
  ];
}

/** TLS on: port 80 answers the ACME challenge and redirects the rest (301); the app is served on 443. */
function httpsServers(conf: ProxyConf, tls: ProxyTls): string[] {
  return [
    '# HTTP: the ACME challenge path, everything else redirected to HTTPS (not logged: no release served it).',
    'server {',
    `    listen ${conf.listen ?? 80} default_server;`,
    '    access_log off;',
    ...challengeLocation(),
    ...redirectLocation(tls),
    '}',
    '',
    ...appServer(conf, `    listen ${PROXY_TLS_PORT} ssl http2 default_server;`, tlsServerDirectives(tls), 'https'),
  ];
}

export interface LoadBalancerConf {
  /** host:port of each host's proxy. */
  backends: string[];
  listen?: number;
}

/**
 * A front load balancer across the hosts' proxies (the simulated fleet's; a real fleet has its
 * own). Connection errors and 502/503/504 from a host go to the next host.
 */
export function renderLoadBalancerConf(conf: LoadBalancerConf): string {
  return [
    'upstream pier_fleet {',
    ...conf.backends.map((b) => `    server ${b} max_fails=1 fail_timeout=2s;`),
    '}',
    'server {',
    `    listen ${conf.listen ?? 80} default_server;`,
    '    location / {',
    '        proxy_pass http://pier_fleet;',
    '        proxy_set_header Host $host;',
    '        proxy_connect_timeout 1s;',
    '        proxy_read_timeout 15s;',
    '        proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;',
    '        proxy_next_upstream_tries 3;',
    '    }',
    '}',
    '',
  ].join('\n');
}

/**
 * The front load balancer's whole nginx.conf: HTTP as renderLoadBalancerConf, and TCP on
 * `tlsListen` passed through to each host's HTTPS port (TLS ends on the hosts, as behind a cloud
 * network load balancer). Debian's nginx has the stream module as a dynamic module
 * (modules-enabled); the official image has it built in (the glob then matches nothing).
 */
export function renderLoadBalancerMain(conf: LoadBalancerConf & { tlsBackends: string[]; tlsListen?: number }): string {
  const indent = (text: string) => text.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n');
  return [
    'include /etc/nginx/modules-enabled/*.conf;',
    'events { worker_connections 4096; }',
    'http {',
    indent(renderLoadBalancerConf(conf)).trimEnd(),
    '}',
    'stream {',
    '    upstream pier_fleet_tls {',
    ...conf.tlsBackends.map((b) => `        server ${b} max_fails=1 fail_timeout=2s;`),
    '    }',
    '    server {',
    `        listen ${conf.tlsListen ?? 443};`,
    '        proxy_pass pier_fleet_tls;',
    '        proxy_connect_timeout 1s;',
    '    }',
    '}',
    '',
  ].join('\n');
}
