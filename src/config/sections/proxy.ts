import { z } from 'zod';

/** A DNS name a certificate may carry (no wildcard: HTTP-01 cannot prove one). */
const DomainName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/, 'a DNS name such as example.com or www.example.com (no wildcard, no scheme, no port)');

export const CertificateFiles = z
  .strictObject({
    cert: z.string().min(1).describe('PEM certificate chain file (leaf first), relative to the repository root'),
    key: z.string().min(1).describe('PEM private key file of the certificate (a secret: uploaded 0600, never printed)'),
  })
  .describe('A certificate you provide; pier checks it matches its key, is not expired and names every host before any host changes');

export const Acme = z
  .strictObject({
    email: z.string().email().describe('Contact address of the ACME account (expiry notices)'),
    directory: z
      .string()
      .url()
      .refine((u) => u.startsWith('https://'), 'an https:// ACME v2 directory URL')
      .default('https://acme-v02.api.letsencrypt.org/directory')
      .describe("ACME v2 directory URL (default: Let's Encrypt production)"),
  })
  .describe('Certificates from an ACME CA (HTTP-01 challenges answered by every host\'s proxy, requested from the deploying machine)');

export const Hsts = z
  .strictObject({
    maxAgeSeconds: z.number().int().min(1).default(31_536_000),
    includeSubDomains: z.boolean().default(false),
  })
  .describe('Strict-Transport-Security header on HTTPS answers');

export const Tls = z
  .strictObject({
    hosts: z.array(DomainName).min(1).describe('Names the certificate covers (the first is its subject)'),
    certificate: CertificateFiles.optional(),
    acme: Acme.optional(),
    port: z.number().int().min(1).max(65535).default(443).describe('Public HTTPS port of the per-host proxy'),
    hsts: Hsts.optional().describe('Send Strict-Transport-Security (off unless set)'),
  })
  .superRefine((t, ctx) => {
    if (!t.certificate === !t.acme) ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of certificate: {cert, key} or acme: {email, directory}' });
    const seen = new Set<string>();
    t.hosts.forEach((h, i) => {
      if (seen.has(h.toLowerCase())) ctx.addIssue({ code: 'custom', path: ['hosts', i], message: `duplicate name ${h}` });
      seen.add(h.toLowerCase());
    });
  })
  .describe('HTTPS on every host: TLS 1.2/1.3, HTTP -> HTTPS redirect (except the ACME challenge path), HTTP/2');

export const ProxyLogs = z
  .strictObject({
    maxSize: z
      .string()
      .regex(/^[1-9]\d*[kmg]?$/, 'a size: a number with k, m or g (1024 based), e.g. 20m')
      .default('20m')
      .describe('Size at which the proxy renames access.log (and error.log) to .1 and reopens a new one'),
    maxFiles: z.number().int().min(2).max(10).default(5).describe('Files kept per log, the live one included (access.log, access.log.1 .. access.log.<maxFiles-1>)'),
    checkSeconds: z.number().int().min(1).max(3600).default(30).describe('How often the proxy looks at the sizes (a log can pass maxSize by what it gets in that time)'),
  })
  .describe("Size-based rotation of the proxy's access and error logs, done on the host by the proxy container itself (no pier needed); applied at every deploy");

export const Proxy = z
  .strictObject({
    tls: Tls.optional(),
    logs: ProxyLogs.default(ProxyLogs.parse({})),
  })
  .describe("The per-host nginx proxy's public side and its logs");
