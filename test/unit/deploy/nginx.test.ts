import { describe, expect, it } from 'vitest';
import { parseProxyServes, renderLoadBalancerConf, renderProxyConf } from '../../../src/deploy/commands/nginx.ts';

describe('proxy config', () => {
  it('renders one upstream with the release map and JSON access log', () => {
    expect(renderProxyConf({ upstreams: [{ address: '172.18.0.3:3000', release: 'v2' }] })).toBe(`# Managed by pier deploy: rewritten on every switch.
log_format pier_json escape=json
  '{"msec":$msec,"status":$status,"upstream":"$upstream_addr","release":"$pier_release",'
  '"upstream_status":"$upstream_status","request_time":$request_time,"uri":"$uri"}';

map $upstream_addr $pier_release {
    default "";
    172.18.0.3:3000 "v2";
}

upstream pier_app {
    server 172.18.0.3:3000 max_fails=0;
    keepalive 16;
}

server {
    listen 80 default_server;
    access_log /var/log/pier/access.log pier_json;
    location / {
        proxy_pass http://pier_app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_connect_timeout 2s;
        proxy_next_upstream error timeout;
    }
}
`);
  });
  it('takes weights (for canaries)', () => {
    const conf = renderProxyConf({ upstreams: [{ address: '10.0.0.2:3000', release: 'v1', weight: 9 }, { address: '10.0.0.3:3000', release: 'v2', weight: 1 }] });
    expect(conf).toContain('    server 10.0.0.2:3000 weight=9 max_fails=0;\n    server 10.0.0.3:3000 weight=1 max_fails=0;\n');
    expect(conf).toContain('    10.0.0.2:3000 "v1";\n    10.0.0.3:3000 "v2";\n');
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
