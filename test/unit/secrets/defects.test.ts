// Issue 14, defects 1 and 2 through pier's real code paths (config -> deploy target -> CLI output).
// The deploy itself is replaced by a report like the one a failing container gives (the real
// fleet run is test/integration/secrets.test.ts).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { resolveTarget } from '../../../src/deploy/target.ts';
import { clearSecrets, redact, redactObject } from '../../../src/util/redact.ts';

const failingLog = 'api-1 | Error: connect ECONNREFUSED postgres://api:Sup3rS3cret@db:5432/api\napi-1 | stripe key sk_live_51HabcDEFghiJKL rejected';

vi.mock('../../../src/deploy/deploy.ts', () => ({
  deploy: async () => ({
    run: 'r1', env: 'production', version: '1.0.0', ok: false, exitCode: 1, seconds: 1,
    error: 'web1: api 1.0.0 did not become healthy', logs: failingLog,
    hosts: [{ host: 'web1', status: 'failed', detail: 'unhealthy' }], lock: { released: ['web1'], held: [] }, timeline: [],
  }),
}));

function project(envFile: string, envYaml = ''): string {
  const root = mkdtempSync(join(tmpdir(), 'pier-secrets-'));
  mkdirSync(join(root, 'environments'));
  writeFileSync(join(root, 'pier.yaml'), 'app:\n  name: api\n  image: acme/api\n  port: 3000\n  test:\n    command: [npm, test]\n');
  writeFileSync(join(root, 'environments', 'production.yaml'), `envFile: environments/production.env\nhosts:\n  - { name: web1, address: 10.0.0.1 }\n${envYaml}`);
  writeFileSync(join(root, 'environments', 'production.env'), envFile);
  return join(root, 'pier.yaml');
}

beforeEach(() => clearSecrets());
afterEach(() => vi.restoreAllMocks());

describe('defect 1: pier deploy --json prints a failing container log unredacted', () => {
  it('stdout (--json) and report.json both show *** for the URL password and the live key', async () => {
    const file = project('DATABASE_URL=postgres://api:Sup3rS3cret@db:5432/api\nSTRIPE_SECRET_KEY=sk_live_51HabcDEFghiJKL\nNODE_ENV=production\n');
    const printed: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
    const { run } = await import('../../../src/cli/deploy.ts');
    expect(await run(['production', '--config', file, '--version', '1.0.0', '--json'])).toBe(1);
    const stdout = printed.join('\n');
    expect(stdout).toContain('"logs"');
    expect(stdout).not.toContain('Sup3rS3cret');
    expect(stdout).not.toContain('sk_live_51HabcDEFghiJKL');
    expect(stdout).toContain('postgres://api:***@db:5432/api');
    const runs = join(file, '..', '.pier', 'runs');
    const report = readFileSync(join(runs, readdirSync(runs)[0]!, 'report.json'), 'utf8');
    expect(report).not.toMatch(/Sup3rS3cret|sk_live_51HabcDEFghiJKL/);
  });
});

describe('defect 2: every env value was a secret (garbling) while short and encoded ones leaked', () => {
  const envText = [
    'APP_REGION=prod',
    'NODE_ENV=production',
    'API_KEY=prod_9f8e7d6c5b4a',
    'SMTP_PASSWORD=q7!',
    'DATABASE_URL=postgres://api:p%40ss%2Fw0rd@db/api',
    'CACHE_URL=redis://u:p@ss@cache:6379',
    'SESSION_SEED=seed-0a1b2c3d',
    '',
  ].join('\n');

  it('after loading the environment: secrets redacted in every form, plain words intact', () => {
    resolveTarget(loadConfig({ configFile: project(envText, 'secrets: [SESSION_SEED]\n'), env: 'production', vars: {} }));
    expect(redact('key prod_9f8e7d6c5b4a in prod')).toBe('key *** in prod');
    expect(JSON.stringify(redactObject({ detail: 'smtp login q7! refused' }))).not.toContain('q7!');
    expect(redact('postgres://api:p%40ss%2Fw0rd@db/api and p@ss/w0rd')).toBe('postgres://api:***@db/api and ***');
    expect(redact('redis://u:p@ss@cache:6379')).toBe('redis://u:***@cache:6379');
    expect(redact('seed seed-0a1b2c3d')).toBe('seed ***');
    // Garble test: plain configuration words are printed as written.
    const plain = 'deploy api 1.0.0 to production (region prod): information, productions, reproduce';
    expect(redact(plain)).toBe(plain);
  });
});
