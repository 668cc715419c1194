/**
 * The TLS parts of the per-host proxy config (proxy.tls), as nginx text. Pure.
 *
 * Files live in pier's nginx directory on the host, mounted as the proxy's /etc/nginx/conf.d:
 * `tls/cert.pem` (chain, leaf first) and `tls/key.pem` (0600: nginx's master process reads it as
 * root when it loads the config), and `acme-challenge/<token>` (HTTP-01 answers). A certificate
 * change is a new file plus a graceful reload: old workers finish their connections.
 */
import { ACME_CHALLENGE_PREFIX } from './maintenance.ts';

/** Port nginx listens on for HTTPS inside its container (published as proxy.tls.port). */
export const PROXY_TLS_PORT = 443;
/** Inside the proxy container. */
export const TLS_CERT = '/etc/nginx/conf.d/tls/cert.pem';
export const TLS_KEY = '/etc/nginx/conf.d/tls/key.pem';
export const CHALLENGE_ROOT = '/etc/nginx/conf.d/acme-challenge/';

/**
 * TLS 1.2 and 1.3 only; for 1.2 the AEAD ECDHE suites of Mozilla's "intermediate" profile (forward
 * secrecy, no CBC, no RSA key exchange). TLS 1.3 suites are all modern and need no list.
 */
export const TLS_PROTOCOLS = 'TLSv1.2 TLSv1.3';
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface ProxyTls {
  /** Public HTTPS port: the redirect names it unless it is 443. */
  port: number;
  /** The certificate is on the host: serve HTTPS and redirect HTTP. False (before the first
   * certificate): plain HTTP as without TLS, plus the challenge path. */
  serve: boolean;
  hsts?: { maxAgeSeconds: number; includeSubDomains: boolean };
}

/** HTTP-01 answers from files (never proxied to the app, never redirected). */
export function challengeLocation(): string[] {
  return [
    `    location ^~ ${ACME_CHALLENGE_PREFIX} {`,
    `        alias ${CHALLENGE_ROOT};`,
    '        default_type text/plain;',
    '    }',
  ];
}

/** Everything else on port 80: a permanent redirect to the same host and path on HTTPS. */
export function redirectLocation(tls: ProxyTls): string[] {
  const port = tls.port === 443 ? '' : `:${tls.port}`;
  return ['    location / {', `        return 301 https://$host${port}$request_uri;`, '    }'];
}

export function hstsHeader(hsts: NonNullable<ProxyTls['hsts']>): string {
  return `max-age=${hsts.maxAgeSeconds}${hsts.includeSubDomains ? '; includeSubDomains' : ''}`;
}

/** Inside the HTTPS server block. */
export function tlsServerDirectives(tls: ProxyTls): string[] {
  return [
    `    ssl_certificate ${TLS_CERT};`,
    `    ssl_certificate_key ${TLS_KEY};`,
    `    ssl_protocols ${TLS_PROTOCOLS};`,
    `    ssl_ciphers ${TLS12_CIPHERS};`,
    '    ssl_prefer_server_ciphers off;',
    '    ssl_session_cache shared:pier_tls:10m;',
    '    ssl_session_timeout 1d;',
    '    ssl_session_tickets off;',
    ...(tls.hsts ? [`    add_header Strict-Transport-Security "${hstsHeader(tls.hsts)}" always;`] : []),
  ];
}

/**
 * A host's proxy before any release serves on it (`pier certs renew` on a new fleet): the
 * challenge path, 503 for everything else. Replaced by the first deploy's config.
 */
export function renderBootstrapConf(): string {
  return [
    '# Managed by pier certs: no release serves on this host yet (the first deploy replaces this).',
    'server {',
    '    listen 80 default_server;',
    '    access_log off;',
    ...challengeLocation(),
    '    location / {',
    '        return 503;',
    '    }',
    '}',
    '',
  ].join('\n');
}
