import { describe, expect, it } from 'vitest';
import { renderLoadBalancerMain, renderProxyConf } from '../../../src/deploy/commands/nginx.ts';
import { renderBootstrapConf, TLS12_CIPHERS } from '../../../src/deploy/commands/nginx-tls.ts';
import { renderMaintenanceConf } from '../../../src/deploy/commands/maintenance.ts';
import * as docker from '../../../src/deploy/commands/docker.ts';
import * as host from '../../../src/deploy/commands/host.ts';

const up = [{ address: 'api-v2-aaaaaa:3000', release: 'v2' }];
/** The server blocks of a config, each as its text. */
const servers = (conf: string) => conf.split(/\n(?=server \{)/).filter((s) => s.startsWith('server {')).map((s) => s.slice(0, s.indexOf('\n}') + 2));

describe('proxy config with TLS', () => {
  it('without proxy.tls the config is plain HTTP, with no TLS or challenge directive', () => {
    const conf = renderProxyConf({ upstreams: up });
    expect(conf).not.toMatch(/ssl|443|acme-challenge|return 301/);
  });

  it('TLS on: port 80 answers the challenge path from files and redirects the rest (301, same host and path); 443 serves the app with TLS 1.2/1.3, modern ciphers, HTTP/2', () => {
    const conf = renderProxyConf({ upstreams: up, tls: { port: 443, serve: true } });
    const [http, https] = servers(conf);
    expect(http).toBe(`server {
    listen 80 default_server;
    access_log off;
    location ^~ /.well-known/acme-challenge/ {
        alias /etc/nginx/conf.d/acme-challenge/;
        default_type text/plain;
    }
    location / {
        return 301 https://$host$request_uri;
    }
}`);
    expect(https).toContain('    listen 443 ssl http2 default_server;\n');
    expect(https).toContain('    ssl_certificate /etc/nginx/conf.d/tls/cert.pem;\n    ssl_certificate_key /etc/nginx/conf.d/tls/key.pem;\n');
    expect(https).toContain('    ssl_protocols TLSv1.2 TLSv1.3;\n');
    expect(https).toContain(`    ssl_ciphers ${TLS12_CIPHERS};\n`);
    expect(TLS12_CIPHERS.split(':').every((c) => /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/.test(c))).toBe(true);
    expect(https).not.toContain('Strict-Transport-Security');
    // The app, the access log the bake reads, and the maintenance switch live on the HTTPS side.
    expect(https).toContain('proxy_pass http://$pier_upstream;');
    expect(https).toContain('proxy_set_header X-Forwarded-Proto https;');
    expect(https).toContain('access_log /var/log/pier/access.log pier_json;');
    expect(https).toContain('include /etc/nginx/conf.d/maintenance/*.conf;');
    expect(http).not.toContain('proxy_pass');
  });

  it('HSTS when asked, and a non-default public HTTPS port in the redirect', () => {
    const conf = renderProxyConf({ upstreams: up, tls: { port: 8443, serve: true, hsts: { maxAgeSeconds: 600, includeSubDomains: true } } });
    expect(conf).toContain('    add_header Strict-Transport-Security "max-age=600; includeSubDomains" always;\n');
    expect(conf).toContain('return 301 https://$host:8443$request_uri;');
    expect(renderProxyConf({ upstreams: up, tls: { port: 443, serve: true, hsts: { maxAgeSeconds: 31536000, includeSubDomains: false } } })).toContain('"max-age=31536000" always;');
  });

  it('before the first certificate: plain HTTP as usual plus the challenge path, no 443 and no redirect', () => {
    const conf = renderProxyConf({ upstreams: up, tls: { port: 443, serve: false } });
    expect(servers(conf)).toHaveLength(1);
    expect(conf).toContain('location ^~ /.well-known/acme-challenge/ {');
    expect(conf).toContain('proxy_pass http://$pier_upstream;');
    expect(conf).not.toMatch(/443|return 301|ssl_/);
    // The challenge location is a prefix match that wins over the app's location.
    expect(conf.indexOf('acme-challenge')).toBeLessThan(conf.indexOf('location / {'));
  });

  it('a host with no release yet answers only the challenge (503 otherwise)', () => {
    const conf = renderBootstrapConf();
    expect(conf).toContain('alias /etc/nginx/conf.d/acme-challenge/;');
    expect(conf).toContain('return 503;');
    expect(conf).not.toContain('proxy_pass');
  });

  it('maintenance mode keeps the challenge path exempt', () => {
    const m = renderMaintenanceConf('/health', { since: 's', by: 'b', retryAfterSeconds: 60, page: 'default' });
    const exempt = new RegExp(/"(\^.*\$)"/.exec(m)![1]!);
    expect(exempt.test('/.well-known/acme-challenge/abc')).toBe(true);
  });

  it('the proxy publishes the HTTPS port when asked; an https health probe skips the name check (127.0.0.1 is not a public name)', () => {
    const argv = docker.runProxy({ image: 'nginx', publicPort: 80, tlsPort: 443, nginxDir: '/d/nginx', logDir: '/d/logs' });
    expect(argv.join(' ')).toContain('--publish 80:80 --publish 443:443');
    expect(docker.runProxy({ image: 'nginx', publicPort: 80, nginxDir: '/d', logDir: '/l' }).join(' ')).not.toContain('443');
    expect(host.httpStatus('https://127.0.0.1:443/health', 3)).toEqual(['curl', '--silent', '--insecure', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '3', 'https://127.0.0.1:443/health']);
    expect(host.httpStatus('http://127.0.0.1:80/health', 3)).not.toContain('--insecure');
  });

  it('the simulated fleet\'s front load balancer passes TCP through to every host\'s 443', () => {
    const conf = renderLoadBalancerMain({ backends: ['host1:80', 'host2:80'], tlsBackends: ['host1:443', 'host2:443'] });
    expect(conf.startsWith('include /etc/nginx/modules-enabled/*.conf;\n')).toBe(true);
    expect(conf).toContain('http {\n    upstream pier_fleet {\n        server host1:80 max_fails=1 fail_timeout=2s;');
    expect(conf).toContain('stream {\n    upstream pier_fleet_tls {\n        server host1:443 max_fails=1 fail_timeout=2s;\n        server host2:443 max_fails=1 fail_timeout=2s;\n    }\n    server {\n        listen 443;\n        proxy_pass pier_fleet_tls;');
  });

  it('the front load balancer\'s whole nginx.conf: events, the HTTP part indented in http {}, the TCP part, each block closed', () => {
    const conf = renderLoadBalancerMain({ backends: ['host1:80'], listen: 8080, tlsBackends: ['host1:443'], tlsListen: 8443 });
    expect(conf).toBe([
      'include /etc/nginx/modules-enabled/*.conf;',
      'events { worker_connections 4096; }',
      'http {',
      '    upstream pier_fleet {',
      '        server host1:80 max_fails=1 fail_timeout=2s;',
      '    }',
      '    server {',
      '        listen 8080 default_server;',
      '        location / {',
      '            proxy_pass http://pier_fleet;',
      '            proxy_set_header Host $host;',
      '            proxy_connect_timeout 1s;',
      '            proxy_read_timeout 15s;',
      '            proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;',
      '            proxy_next_upstream_tries 3;',
      '        }',
      '    }',
      '}',
      'stream {',
      '    upstream pier_fleet_tls {',
      '        server host1:443 max_fails=1 fail_timeout=2s;',
      '    }',
      '    server {',
      '        listen 8443;',
      '        proxy_pass pier_fleet_tls;',
      '        proxy_connect_timeout 1s;',
      '    }',
      '}',
      '',
    ].join('\n'));
  });

  it('TLS on: the HTTP server says what it is for, a blank line before the HTTPS one', () => {
    const conf = renderProxyConf({ upstreams: up, tls: { port: 443, serve: true } });
    expect(conf).toContain('\n\n# HTTP: the ACME challenge path, everything else redirected to HTTPS (not logged: no release served it).\nserver {\n    listen 80 default_server;\n');
    expect(conf).toContain('        return 301 https://$host$request_uri;\n    }\n}\n\nserver {\n    listen 443 ssl http2 default_server;\n');
  });
});
