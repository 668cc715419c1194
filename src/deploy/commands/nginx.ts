/**
 * nginx configuration as file content. The per-host proxy config takes weighted upstreams so the
 * canary strategy can reuse it; the access log is JSON with the release that served each request.
 */
export interface Upstream {
  /** ip:port of the container. */
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
}

/** Content of the proxy's conf.d/pier.conf. */
export function renderProxyConf(conf: ProxyConf): string {
  if (conf.upstreams.length === 0) throw new Error('renderProxyConf: at least one upstream is required');
  const servers = conf.upstreams.map((u) => `    server ${u.address}${u.weight !== undefined ? ` weight=${u.weight}` : ''} max_fails=0;`);
  const releases = conf.upstreams.map((u) => `    ${u.address} ${JSON.stringify(u.release)};`);
  // One comment per upstream naming its container: the config is the ground truth of what serves.
  const serves = conf.upstreams.filter((u) => u.container && u.image).map((u) => `${SERVES_PREFIX}${JSON.stringify({ address: u.address, version: u.release, container: u.container, image: u.image, ...(u.weight !== undefined ? { weight: u.weight } : {}) })}`);
  return [
    '# Managed by pier deploy: rewritten on every switch.',
    ...serves,
    'log_format pier_json escape=json',
    `  '{"msec":$msec,"status":$status,"upstream":"$upstream_addr","release":"$pier_release",'`,
    `  '"upstream_status":"$upstream_status","request_time":$request_time,"uri":"$uri"}';`,
    '',
    'map $upstream_addr $pier_release {',
    '    default "";',
    ...releases,
    '}',
    '',
    'upstream pier_app {',
    ...servers,
    '    keepalive 16;',
    '}',
    '',
    'server {',
    `    listen ${conf.listen ?? 80} default_server;`,
    `    access_log ${conf.accessLog ?? '/var/log/pier/access.log'} pier_json;`,
    '    location / {',
    '        proxy_pass http://pier_app;',
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        proxy_connect_timeout 2s;',
    '        proxy_next_upstream error timeout;',
    '    }',
    '}',
    '',
  ].join('\n');
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
    '        proxy_connect_timeout 1s;',
    '        proxy_read_timeout 15s;',
    '        proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;',
    '        proxy_next_upstream_tries 3;',
    '    }',
    '}',
    '',
  ].join('\n');
}
