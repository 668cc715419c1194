// The nginx configs as text: the front load balancer whole, a weighted proxy with identities,
// listen/access-log overrides, share rounding; maintenance snippet and scripts in full.
import { describe, expect, it } from 'vitest';
import { defaultMaintenancePage, maintenanceOff, maintenanceOn, parseMaintenanceConf, renderMaintenanceConf } from '../../../src/deploy/commands/maintenance.ts';
import { DOCKER_DNS, parseProxyServes, renderLoadBalancerConf, renderProxyConf, trafficShares } from '../../../src/deploy/commands/nginx.ts';
import { NGINX_TEST_AND_RELOAD } from '../../../src/deploy/commands/docker.ts';

describe('front load balancer', () => {
  it('renders the whole config: every host once, retries on errors and 502/503/504, short timeouts', () => {
    expect(renderLoadBalancerConf({ backends: ['127.0.0.1:8081', '127.0.0.1:8082'], listen: 8080 })).toBe(`upstream pier_fleet {
    server 127.0.0.1:8081 max_fails=1 fail_timeout=2s;
    server 127.0.0.1:8082 max_fails=1 fail_timeout=2s;
}
server {
    listen 8080 default_server;
    location / {
        proxy_pass http://pier_fleet;
        proxy_set_header Host $host;
        proxy_connect_timeout 1s;
        proxy_read_timeout 15s;
        proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
        proxy_next_upstream_tries 3;
    }
}
`);
    expect(renderLoadBalancerConf({ backends: ['h:80'] })).toContain('    listen 80 default_server;\n');
  });
});

describe('per-host proxy', () => {
  it('a canary step: shares, release map, identities for upstreams that have them, listen and log overrides', () => {
    const conf = renderProxyConf({
      upstreams: [
        { address: 'api-v1-a:3000', release: 'v1', weight: 3, container: 'api-v1-a', image: 'r/api@sha256:1' },
        { address: 'api-v2-b:3000', release: 'v2', weight: 1, container: 'api-v2-b' },
        { address: 'api-v3-c:3000', release: 'v3', container: 'api-v3-c', image: 'r/api@sha256:3' },
      ],
      listen: 8080,
      accessLog: '/logs/a.log',
    });
    const lines = conf.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '# Managed by pier deploy: rewritten on every switch.',
      '# pier-serves {"address":"api-v1-a:3000","version":"v1","container":"api-v1-a","image":"r/api@sha256:1","weight":3}',
      '# pier-serves {"address":"api-v3-c:3000","version":"v3","container":"api-v3-c","image":"r/api@sha256:3"}',
    ]);
    expect(conf).toContain('split_clients "${request_id}" $pier_upstream {\n    60% "api-v1-a:3000";\n    20% "api-v2-b:3000";\n    * "api-v3-c:3000";\n}\n');
    expect(conf).toContain('map $pier_upstream $pier_release {\n    default "";\n    "api-v1-a:3000" "v1";\n    "api-v2-b:3000" "v2";\n    "api-v3-c:3000" "v3";\n}\n');
    expect(conf).toContain('    listen 8080 default_server;\n    access_log /logs/a.log pier_json;\n');
    expect(conf).toContain(`resolver ${DOCKER_DNS} valid=1s ipv6=off;`);
    expect(DOCKER_DNS).toBe('127.0.0.11');
    expect(parseProxyServes(conf).map((s) => [s.version, s.weight])).toEqual([['v1', 3], ['v3', undefined]]);
  });

  it('shares: two decimals without trailing zeros, at least 0.01 %, never over 100 % together', () => {
    const shares = (...weights: number[]) => trafficShares(weights.map((weight, i) => ({ address: `u${i}`, release: 'r', weight }))).map((s) => s.share);
    expect(shares(1, 7)).toEqual(['12.5%', '*']);
    expect(shares(1, 9)).toEqual(['10%', '*']);
    expect(shares(1, 2)).toEqual(['33.33%', '*']);
    expect(shares(2, 1)).toEqual(['66.66%', '*']);
    expect(shares(1, 999_999)).toEqual(['0.01%', '*']);
    expect(trafficShares([{ address: 'a', release: 'r' }, { address: 'b', release: 'r', weight: 3 }]).map((s) => s.share)).toEqual(['25%', '*']);
  });

  it('reads identities back: lines elsewhere ignored, a non-numeric weight dropped, any bad record names nothing', () => {
    const text = [
      'server {',
      '  # pier-serves {"address":"x"}',
      '# pier-serves {"address":"a:1","version":"v1","container":"c1","image":"i1","weight":"9"}',
    ].join('\n');
    expect(parseProxyServes(text)).toEqual([{ address: 'a:1', version: 'v1', container: 'c1', image: 'i1' }]);
    // A damaged comment after a good one: the record as a whole is not trusted.
    expect(parseProxyServes('# pier-serves {"address":"a:1","version":"v1","container":"c1","image":"i1"}\n# pier-serves {broken\n')).toEqual([]);
    expect(() => renderProxyConf({ upstreams: [] })).toThrow('renderProxyConf: at least one upstream is required');
    for (const bad of [
      '{"address":1,"version":"v","container":"c","image":"i"}',
      '{"address":"a","version":1,"container":"c","image":"i"}',
      '{"address":"a","version":"v","container":1,"image":"i"}',
      '{"address":"a","version":"v","container":"c","image":1}',
    ]) {
      expect(parseProxyServes(`# pier-serves {"address":"a:1","version":"v1","container":"c1","image":"i1"}\n# pier-serves ${bad}\n`), bad).toEqual([]);
    }
  });
});

describe('maintenance snippet and scripts', () => {
  const rec = { since: '2026-12-01T10:00:00Z', by: 'ops', retryAfterSeconds: 90, page: 'default' };

  it('renders the whole snippet', () => {
    expect(renderMaintenanceConf('/healthz', rec)).toBe(`# Managed by pier maintenance: removed by pier maintenance off.
# pier-maintenance {"since":"2026-12-01T10:00:00Z","by":"ops","retryAfterSeconds":90,"page":"default"}
if ($uri !~ "^(/healthz|/\\.well-known/acme-challenge/.*|/pier-maintenance\\.html)$") {
    return 503;
}
error_page 503 /pier-maintenance.html;
location = /pier-maintenance.html {
    internal;
    root /etc/nginx/conf.d/maintenance;
    access_log off;
    add_header Retry-After 90 always;
    add_header Cache-Control "no-store" always;
}
`);
  });

  it('Retry-After must be a whole number of seconds from 1; the health path must start with /', () => {
    expect(() => renderMaintenanceConf('/h', { ...rec, retryAfterSeconds: 1 })).not.toThrow();
    expect(() => renderMaintenanceConf('/h', { ...rec, retryAfterSeconds: 1.5 })).toThrow('maintenance: retryAfterSeconds must be a positive integer');
    expect(() => renderMaintenanceConf('/h', { ...rec, retryAfterSeconds: -5 })).toThrow(/positive integer/);
    expect(() => renderMaintenanceConf('health', rec)).toThrow('maintenance: health path "health" cannot be exempted (quotes, spaces, braces or ; in it)');
    for (const p of ['/a;b', '/a{', '/a}', "/a'b", '/a\\b', '/a\tb']) expect(() => renderMaintenanceConf(p, rec), p).toThrow(/cannot be exempted/);
    expect(renderMaintenanceConf('/', rec)).toContain('"^(/|');
    expect(() => renderMaintenanceConf('h/ealth', rec)).toThrow(/cannot be exempted/);
  });

  it('a record with missing or damaged fields reads as unknown, not as off', () => {
    expect(parseMaintenanceConf('# pier-maintenance {"by":"ops"}\n')).toEqual({ since: '?', by: 'ops', retryAfterSeconds: 0, page: '?' });
    expect(parseMaintenanceConf('# pier-maintenance {broken\n')).toEqual({ since: '?', by: '?', retryAfterSeconds: 0, page: '?' });
    expect(parseMaintenanceConf('  \n')).toBeUndefined();
  });

  it('the page: minutes rounded, at least one, singular for one', () => {
    expect(defaultMaintenancePage('api', 150)).toContain('in about 3 minutes.');
    expect(defaultMaintenancePage('api', 89)).toContain('in about 1 minute.');
    expect(defaultMaintenancePage('api', 1)).toContain('in about 1 minute.');
    expect(defaultMaintenancePage(`a&b"c'`, 60)).toContain('a&#38;b&#34;c&#39; is being updated');
    expect(defaultMaintenancePage('api', 60)).toMatch(/^<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">.*<title>Down for maintenance<\/title>/s);
  });

  it('on and off in full', () => {
    expect(maintenanceOn('/d/nginx/', 'CONF', 'px')).toEqual([
      'sh', '-c',
      `mkdir -p "$1" && chmod 0755 "$1" && cat > "$2.tmp" && chmod 0644 "$2.tmp" && mv "$2.tmp" "$2" && printf '%s' "$4" > "$3.tmp" && chmod 0644 "$3.tmp" && mv "$3.tmp" "$3" && docker exec "$5" sh -c '${NGINX_TEST_AND_RELOAD}' || { rm -f "$3"; docker exec "$5" nginx -s reload >/dev/null 2>&1; exit 1; }`,
      'sh', '/d/nginx/maintenance', '/d/nginx/maintenance/pier-maintenance.html', '/d/nginx/maintenance/on.conf', 'CONF', 'px',
    ]);
    expect(maintenanceOn('/d/nginx//', 'C', 'px').slice(4, 5)).toEqual(['/d/nginx/maintenance']);
    expect(maintenanceOff('/d/nginx', 'px')).toEqual(['sh', '-c', `rm -f "$1" && docker exec "$2" sh -c '${NGINX_TEST_AND_RELOAD}'`, 'sh', '/d/nginx/maintenance/on.conf', 'px']);
  });
});
