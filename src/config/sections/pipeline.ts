import { z } from 'zod';

export const Severity = z.enum(['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);

export const Scan = z
  .strictObject({
    image: z.string().default('aquasec/trivy:0.58.1').describe('Pinned trivy image'),
    binary: z.string().optional().describe('A local trivy executable to use instead of the image'),
    failOn: z.array(Severity).min(1).default(['HIGH', 'CRITICAL']).describe('Severities that fail the gate'),
    ignoreUnfixed: z.boolean().default(false).describe('Ignore findings with no fixed version'),
    ignoreFile: z.string().default('.trivyignore').describe('Ignore policy file (IDs, optional exp:YYYY-MM-DD)'),
  })
  .describe('Vulnerability scan policy');

export const LoadTest = z
  .strictObject({
    path: z.string().startsWith('/').default('/health'),
    method: z.enum(['GET', 'POST', 'PUT', 'DELETE']).default('GET'),
    body: z.string().optional(),
    connections: z.number().int().positive().default(10),
    durationSeconds: z.number().positive().optional().describe('How long to load (or use amount)'),
    amount: z.number().int().positive().optional().describe('Total requests (instead of durationSeconds)'),
    rate: z.number().positive().optional().describe('Requests per second cap (overall)'),
    warmupSeconds: z.number().nonnegative().default(2),
    slo: z
      .strictObject({
        p95Ms: z.number().positive().default(200),
        p99Ms: z.number().positive().default(500),
        maxErrorRate: z.number().min(0).max(1).default(0.01).describe('Errors + non-2xx over all requests'),
        minRps: z.number().nonnegative().default(0),
      })
      .default({ p95Ms: 200, p99Ms: 500, maxErrorRate: 0.01, minRps: 0 }),
  })
  .describe('Load-test profile and SLO gates');

export const Registry = z
  .strictObject({
    address: z.string().default('127.0.0.1:5000').describe('Registry host[:port]'),
    repository: z.string().optional().describe('Repository in the registry (default: app.image)'),
    username: z.string().optional(),
    passwordEnv: z.string().optional().describe('Name of the env var holding the password'),
    passwordFile: z.string().optional().describe('File holding the password'),
    startLocal: z.boolean().default(true).describe('Start a local registry container when the address is 127.0.0.1 and none answers'),
  })
  .describe('Where publish pushes the image');

export const Pipeline = z
  .strictObject({
    scan: Scan.default(Scan.parse({})),
    loadtest: LoadTest.default(LoadTest.parse({})),
    registry: Registry.default(Registry.parse({})),
  })
  .describe('Pipeline stages: build, test, scan, loadtest, publish');
