/**
 * The repository's own environments/*.yaml as a user meets them: `pier config --env NAME` accepts
 * each, and the release flow is configured as the README describes (staging on an SSH server
 * with external PostgreSQL/Redis and E2E checks; production with smoke, guard and requirePassed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run as configCli } from '../../../src/cli/config.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { repoRoot } from '../../helpers/paths.ts';

const configFile = join(repoRoot, 'pier.yaml');
const envs = readdirSync(join(repoRoot, 'environments')).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length));
const load = (env: string) => loadConfig({ configFile, env }).env!;
const scripts = Object.keys((JSON.parse(readFileSync(join(repoRoot, 'examples/api/package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

describe("the repository's environments", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(envs)('pier config --env %s accepts it (exit 0)', async (env) => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await configCli(['--env', env, '--json', '--config', configFile])).toBe(0);
    expect(JSON.parse(out.join('\n')).env.name).toBe(env);
  });

  it('production: url, smoke, the guard (the seeds\' three rules) and requirePassed naming an SSH environment with checks', () => {
    const p = load('production');
    expect(p.url).toMatch(/^https:\/\//);
    expect(p.smoke.map((s) => s.name)).toEqual(['smoke']);
    expect(p.deploy.guard?.window).toBe(600);
    expect(p.deploy.guard?.metrics.map((m) => `${m.name}: ${m.failureCondition} for ${m.for}`)).toEqual([
      'error-rate: error_rate > 5% for 120', 'response-time: p95_ms > 2000 for 300', 'availability: availability < 95% for 60',
    ]);
    const required = load(p.deploy.requirePassed!);
    expect(required.hosts.length).toBeGreaterThan(0);
    expect(required.checks.length).toBeGreaterThan(0);
  });

  it('staging-server: one SSH host, external DATABASE_URL/REDIS_URL in its env file, the E2E suite as checks', () => {
    const s = load('staging-server');
    expect(s.hosts.map((h) => h.name)).toEqual(['stage1']);
    expect(s.compose ?? []).toEqual([]);
    expect(s.checks.map((c) => `${c.name}: ${c.command.join(' ')}`)).toEqual(['e2e: npm --prefix examples/api run --silent test:e2e']);
    expect(s.envFile).toBe('environments/staging-server.env');
    const example = readFileSync(join(repoRoot, `${s.envFile}.example`), 'utf8');
    // External services: a server's name, not a container on the host.
    expect(example).toMatch(/^DATABASE_URL=postgres:\/\/[^@]+@[a-z0-9.-]+\.[a-z]+:5432\/\w+$/m);
    expect(example).toMatch(/^REDIS_URL=redis:\/\/[a-z0-9.-]+\.[a-z]+:6379$/m);
  });

  it('every checks:/smoke: command names a script the example app has', () => {
    for (const env of envs) {
      const e = load(env);
      for (const c of [...e.checks, ...e.smoke]) {
        expect(c.command.slice(0, 3), `${env}: ${c.name}`).toEqual(['npm', '--prefix', 'examples/api']);
        expect(scripts, `${env}: ${c.name}`).toContain(c.command.at(-1));
      }
    }
  });
});
