import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { hookEnv, HookFailedError, resolveHooks, runHook, runPreHook, type HookFacts } from '../../../src/hooks/hooks.ts';
import { registerSecret } from '../../../src/util/redact.ts';
import { runPierSync } from '../../helpers/pier.ts';

const app = `app:
  name: demo
  image: acme/demo
  port: 3000
  test:
    command: [npm, test]
`;

function project(pierYaml: string, env?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pier-hooks-'));
  writeFileSync(join(dir, 'pier.yaml'), pierYaml);
  mkdirSync(join(dir, 'environments'));
  if (env !== undefined) writeFileSync(join(dir, 'environments', 'production.yaml'), env);
  return dir;
}

function issues(dir: string, env?: string): string {
  try {
    loadConfig({ cwd: dir, env, vars: {} });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

const facts: HookFacts = { app: 'demo', env: 'production', version: 'v2', digest: 'sha256:' + 'a'.repeat(64), hosts: ['web1', 'web2'], performer: 'ann@laptop', run: 'r1', command: 'deploy' };
const spec = (command: string[], timeoutSeconds = 20, env: Record<string, string> = {}) => ({ command, timeoutSeconds, env });

describe('hooks config', () => {
  it('takes an argv list or { command, timeoutSeconds, env }; the environment replaces a list per hook', () => {
    const dir = project(`${app}hooks:\n  preDeploy: [[./check.sh, ci]]\n  postDeploy:\n    - command: [./notify.sh]\n      timeoutSeconds: 5\n      env: { CHANNEL: ops }\n`, 'hooks:\n  postDeploy: [[./page-oncall.sh]]\n  preDeploy: []\n');
    const cfg = loadConfig({ cwd: dir, env: 'production', vars: {} });
    const hooks = resolveHooks(cfg);
    // An environment's [] clears pier.yaml's list; a hook it does not name keeps it.
    expect(hooks.preDeploy).toEqual([]);
    expect(hooks.postDeploy).toEqual([{ command: ['./page-oncall.sh'], timeoutSeconds: 60, env: {} }]);
    expect(hooks.preRollback).toEqual([]);
    // Without the environment, pier.yaml's list.
    const plain = resolveHooks(loadConfig({ cwd: dir, vars: {} }));
    expect(plain.postDeploy).toEqual([{ command: ['./notify.sh'], timeoutSeconds: 5, env: { CHANNEL: 'ops' } }]);
    expect(plain.preDeploy).toEqual([{ command: ['./check.sh', 'ci'], timeoutSeconds: 60, env: {} }]);
  });

  it('names file and key of a bad hook: unknown hook, empty argv, bad timeout, preBuild in an environment', () => {
    expect(issues(project(`${app}hooks:\n  preDeploi: [[x]]\n`))).toMatch(/pier\.yaml.*hooks.*preDeploi/s);
    expect(issues(project(`${app}hooks:\n  preDeploy: [[]]\n`))).toMatch(/pier\.yaml:8:15: hooks\.preDeploy\[0\]\.command: expected array to have >=1 items/);
    expect(issues(project(`${app}hooks:\n  preDeploy: [{ command: [x], timeoutSeconds: -1 }]\n`))).toMatch(/hooks\.preDeploy\[0\]\.timeoutSeconds/);
    expect(issues(project(app, 'hooks:\n  preBuild: [[x]]\n'), 'production')).toMatch(/environments\/production\.yaml.*hooks.*preBuild/s);
  });
});

describe('hook environment (pure)', () => {
  it('sets the PIER_* facts it has, nothing for the ones it lacks; the first line of an error, redacted', () => {
    registerSecret('hunter2-hook-secret');
    const env = hookEnv('postDeploy', { ...facts, outcome: 'rolled-back', error: 'web1: bad password hunter2-hook-secret\nmore' }, { env: { EXTRA: '1' } }, { PATH: '/bin' });
    expect(env).toEqual({
      PATH: '/bin', EXTRA: '1', PIER_HOOK: 'postDeploy', PIER_APP: 'demo', PIER_COMMAND: 'deploy', PIER_ENV: 'production', PIER_VERSION: 'v2',
      PIER_DIGEST: facts.digest, PIER_HOSTS: 'web1,web2', PIER_PERFORMER: 'ann@laptop', PIER_RUN: 'r1', PIER_OUTCOME: 'rolled-back', PIER_ERROR: expect.not.stringContaining('hunter2'),
    });
    expect(env.PIER_ERROR).toMatch(/^web1: bad password/);
    expect(hookEnv('preBuild', { app: 'demo', command: 'build' }, { env: {} }, {})).toEqual({ PIER_HOOK: 'preBuild', PIER_APP: 'demo', PIER_COMMAND: 'build' });
  });

  it('a PIER_* fact wins over a same-named entry in the hook\'s env', () => {
    expect(hookEnv('preDeploy', facts, { env: { PIER_VERSION: 'forged' } }, {}).PIER_VERSION).toBe('v2');
  });
});

describe('running hooks (real processes)', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'pier-hook-run-'));
  const node = process.execPath;

  it('runs each command in the repository root with the facts, in order, and keeps the output tail', async () => {
    const lines: string[] = [];
    const r = await runHook('preDeploy', [
      spec([node, '-e', "require('fs').writeFileSync('seen.txt', process.env.PIER_VERSION + ' ' + process.env.PIER_HOSTS); console.log('first ok')"]),
      spec([node, '-e', "console.log('second', process.env.PIER_HOOK)"]),
    ], facts, { cwd, onLine: (l) => lines.push(l) });
    expect(r.map((x) => x.ok)).toEqual([true, true]);
    expect(readFileSync(join(cwd, 'seen.txt'), 'utf8')).toBe('v2 web1,web2');
    expect(lines).toEqual(['first ok', 'second preDeploy']);
    expect(r[1]!.tail).toBe('second preDeploy');
  });

  it('stops at the first failing command; a pre-hook throws a gate error naming hook, command and output', async () => {
    const specs = [spec([node, '-e', "console.error('CI is red'); process.exit(3)"]), spec([node, '-e', "require('fs').writeFileSync('never.txt', 'x')"])];
    const r = await runHook('preDeploy', specs, facts, { cwd });
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ ok: false, exitCode: 3, tail: 'CI is red' });
    const err = await runPreHook('preDeploy', specs, facts, { cwd }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookFailedError);
    expect((err as HookFailedError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/^preDeploy hook `.*node -e .*` exited 3:\n  \| CI is red$/s);
    expect(() => readFileSync(join(cwd, 'never.txt'))).toThrow();
  });

  it('kills a command at its timeout and says so; a missing program fails without throwing', async () => {
    const t0 = Date.now();
    const [r] = await runHook('postDeploy', [spec([node, '-e', 'setTimeout(() => {}, 60000)'], 0.5)], facts, { cwd });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r).toMatchObject({ ok: false, timedOut: true });
    const [m] = await runHook('postDeploy', [spec(['/nonexistent/pier-hook'])], facts, { cwd });
    expect(m!.ok).toBe(false);
    expect(m!.tail).toMatch(/ENOENT/);
  });

  it('redacts secrets in the output it keeps and prints', async () => {
    registerSecret('hook-printed-secret-123');
    const lines: string[] = [];
    const [r] = await runHook('postDeploy', [spec([node, '-e', "console.log('token hook-printed-secret-123')"])], facts, { cwd, onLine: (l) => lines.push(l) });
    expect(r!.tail).not.toContain('hook-printed-secret-123');
    expect(lines.join('\n')).not.toContain('hook-printed-secret-123');
  });
});

describe('preBuild through the CLI', () => {
  it('pier build runs preBuild first; a failure exits 1 naming the hook and its output, before any build', () => {
    const dir = project(`${app}hooks:\n  preBuild:\n    - [node, -e, "console.log('checked', process.env.PIER_HOOK, process.env.PIER_COMMAND); process.exit(4)"]\n`);
    const r = runPierSync(['build', '--config', join(dir, 'pier.yaml')], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[preBuild] checked preBuild build');
    expect(r.stderr).toMatch(/preBuild hook `node -e .*` exited 4:\n  \| checked preBuild build/);
    // Nothing ran after it: no run directory (created once the hook passed).
    expect(existsSync(join(dir, '.pier', 'runs'))).toBe(false);
  }, 60_000);
});
