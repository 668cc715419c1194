import { describe, expect, it } from 'vitest';
import { parseProxyServes, renderLoadBalancerConf, renderProxyConf, trafficShares } from '../../../src/deploy/commands/nginx.ts';

describe('proxy config', () => {
  it('renders one target by container name, resolved per request by Docker\'s DNS, with the release map and JSON access log', () => {
    expect(renderProxyConf({ upstreams: [{ address: 'api-v2-aaaaaa:3000', release: 'v2' }] })).toBe(`# Managed by pier deploy: rewritten on every switch.
log_format pier_json escape=json
  '{"msec":$msec,"status":$status,"upstream":"$upstream_addr","release":"$pier_release",'
  '"upstream_status":"$upstream_status","request_time":$request_time,"uri":"$uri"}';
# Request errors (upstream refused, timed out) beside the access log, rotated with it (log-rotate.ts).
error_log /var/log/pier/error.log warn;

# Release containers by name, resolved per request (cached 1 s) by Docker's DNS: container
# addresses change when the host restarts.
resolver 127.0.0.11 valid=1s ipv6=off;
resolver_timeout 2s;

split_clients "\${request_id}" $pier_upstream {
    * "api-v2-aaaaaa:3000";
}

map $pier_upstream $pier_release {
    default "";
    "api-v2-aaaaaa:3000" "v2";
}

server {
    listen 80 default_server;
    access_log /var/log/pier/access.log pier_json;
    # Maintenance mode (pier maintenance on): present only while it is on (src/deploy/maintenance.ts).
    include /etc/nginx/conf.d/maintenance/*.conf;
    location / {
        proxy_pass http://$pier_upstream;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_connect_timeout 2s;
    }
}
`);
  });
  it('splits traffic by weight (canaries): shares in percent, the last target takes the rest', () => {
    const conf = renderProxyConf({ upstreams: [{ address: 'api-v1-a:3000', release: 'v1', weight: 9 }, { address: 'api-v2-b:3000', release: 'v2', weight: 1 }] });
    expect(conf).toContain('    90% "api-v1-a:3000";\n    * "api-v2-b:3000";\n');
    expect(conf).toContain('    "api-v1-a:3000" "v1";\n    "api-v2-b:3000" "v2";\n');
    expect(trafficShares([{ address: 'a', release: '1', weight: 1 }, { address: 'b', release: '2', weight: 1 }, { address: 'c', release: '3', weight: 1 }])).toEqual([
      { address: 'a', share: '33.33%' },
      { address: 'b', share: '33.33%' },
      { address: 'c', share: '*' },
    ]);
    // A zero weight gets no traffic but still names its release in the log map.
    expect(trafficShares([{ address: 'a', release: '1', weight: 0 }, { address: 'b', release: '2', weight: 5 }])).toEqual([{ address: 'b', share: '*' }]);
    expect(() => renderProxyConf({ upstreams: [{ address: 'a', release: '1', weight: 0 }] })).toThrow(/weight above 0/);
  });
  it('refuses an empty upstream', () => {
    expect(() => renderProxyConf({ upstreams: [] })).toThrow(/at least one upstream/);
  });
  it('renders the front load balancer with retries to the next host', () => {
    const conf = renderLoadBalancerConf({ backends: ['host1:80', 'host2:80'] });
    expect(conf.split('\n').slice(0, 4)).toEqual(['upstream pier_fleet {', '    server host1:80 max_fails=1 fail_timeout=2s;', '    server host2:80 max_fails=1 fail_timeout=2s;', '}']);
    expect(conf).toContain('proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;');
  });
});

describe('proxy config identities (the record of what serves)', () => {
  it('names each upstream container in a comment nginx ignores, and parses them back in order', () => {
    const conf = renderProxyConf({ upstreams: [
      { address: '10.0.0.2:3000', release: 'v1', weight: 9, container: 'api-v1-aaaaaa', image: 'r/api@sha256:1' },
      { address: '10.0.0.3:3000', release: 'v2', weight: 1, container: 'api-v2-bbbbbb', image: 'r/api@sha256:2' },
    ] });
    expect(conf.split('\n')[1]).toBe('# pier-serves {"address":"10.0.0.2:3000","version":"v1","container":"api-v1-aaaaaa","image":"r/api@sha256:1","weight":9}');
    expect(parseProxyServes(conf)).toEqual([
      { address: '10.0.0.2:3000', version: 'v1', container: 'api-v1-aaaaaa', image: 'r/api@sha256:1', weight: 9 },
      { address: '10.0.0.3:3000', version: 'v2', container: 'api-v2-bbbbbb', image: 'r/api@sha256:2', weight: 1 },
    ]);
  });
  it('a config without identities (older pier), none at all, or a damaged comment names nothing', () => {
    expect(parseProxyServes(renderProxyConf({ upstreams: [{ address: '10.0.0.2:3000', release: 'v1' }] }))).toEqual([]);
    expect(parseProxyServes('')).toEqual([]);
    expect(parseProxyServes('# pier-serves {"address":"10.0.0.2:3000"\n')).toEqual([]);
    expect(parseProxyServes('# pier-serves {"address":"10.0.0.2:3000","version":"v1"}\n')).toEqual([]);
  });
});

describe('pier status: what the proxy points at', () => {
  it('names release and container (weights for a canary) from the config, and reads an older address-based config', async () => {
    const { proxyTargetOf } = await import('../../../src/deploy/queries.ts');
    const conf = renderProxyConf({ upstreams: [
      { address: 'api-v1-aaaaaa:3000', release: 'v1', weight: 90, container: 'api-v1-aaaaaa', image: 'r/api@sha256:1' },
      { address: 'api-v2-bbbbbb:3000', release: 'v2', weight: 10, container: 'api-v2-bbbbbb', image: 'r/api@sha256:2' },
    ] });
    expect(proxyTargetOf(conf)).toBe('v1 (api-v1-aaaaaa, weight 90), v2 (api-v2-bbbbbb, weight 10)');
    expect(proxyTargetOf('map $upstream_addr $pier_release {\n    default "";\n    172.18.0.3:3000 "v2";\n}\n')).toBe('v2 (172.18.0.3:3000)');
    expect(proxyTargetOf('')).toBeUndefined();
  });
});
