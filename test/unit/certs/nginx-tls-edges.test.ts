// The TLS parts of the proxy config as nginx reads them, whole (mutation testing's survivors: the
// session settings, the bootstrap config line by line, the redirect port).
import { describe, expect, it } from 'vitest';
import { challengeLocation, hstsHeader, PROXY_TLS_PORT, redirectLocation, renderBootstrapConf, tlsServerDirectives } from '../../../src/deploy/commands/nginx-tls.ts';

describe('nginx TLS directives', () => {
  it('the HTTPS server block: certificate, key, protocols, ciphers, session cache without tickets; HSTS only when asked', () => {
    const base = [
      '    ssl_certificate /etc/nginx/conf.d/tls/cert.pem;',
      '    ssl_certificate_key /etc/nginx/conf.d/tls/key.pem;',
      '    ssl_protocols TLSv1.2 TLSv1.3;',
      '    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;',
      '    ssl_prefer_server_ciphers off;',
      '    ssl_session_cache shared:pier_tls:10m;',
      '    ssl_session_timeout 1d;',
      '    ssl_session_tickets off;',
    ];
    expect(tlsServerDirectives({ port: 443, serve: true })).toEqual(base);
    expect(tlsServerDirectives({ port: 443, serve: true, hsts: { maxAgeSeconds: 0, includeSubDomains: false } })).toEqual([...base, '    add_header Strict-Transport-Security "max-age=0" always;']);
  });
  it('HSTS header values', () => {
    expect(hstsHeader({ maxAgeSeconds: 63072000, includeSubDomains: true })).toBe('max-age=63072000; includeSubDomains');
    expect(hstsHeader({ maxAgeSeconds: 300, includeSubDomains: false })).toBe('max-age=300');
  });
  it('the redirect names the public port unless it is 443', () => {
    expect(redirectLocation({ port: 443, serve: true })).toEqual(['    location / {', '        return 301 https://$host$request_uri;', '    }']);
    expect(redirectLocation({ port: 4443, serve: true })[1]).toBe('        return 301 https://$host:4443$request_uri;');
    expect(redirectLocation({ port: 80, serve: true })[1]).toBe('        return 301 https://$host:80$request_uri;');
    expect(PROXY_TLS_PORT).toBe(443);
  });
  it('the challenge location, and the bootstrap config of a host with no release, line by line', () => {
    expect(challengeLocation()).toEqual(['    location ^~ /.well-known/acme-challenge/ {', '        alias /etc/nginx/conf.d/acme-challenge/;', '        default_type text/plain;', '    }']);
    expect(renderBootstrapConf()).toBe(`# Managed by pier certs: no release serves on this host yet (the first deploy replaces this).
server {
    listen 80 default_server;
    access_log off;
    location ^~ /.well-known/acme-challenge/ {
        alias /etc/nginx/conf.d/acme-challenge/;
        default_type text/plain;
    }
    location / {
        return 503;
    }
}
`);
  });
});
