import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../../src/util/errors.ts';
import { runPierSync } from '../../helpers/pier.ts';

const valid = `app:
  name: demo
  image: acme/demo
  port: 3000
  test:
    command: [npm, test]
`;

function project(pierYaml: string, envs: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pier-config-'));
  writeFileSync(join(dir, 'pier.yaml'), pierYaml);
  mkdirSync(join(dir, 'environments'));
  for (const [name, text] of Object.entries(envs)) writeFileSync(join(dir, 'environments', `${name}.yaml`), text);
  return dir;
}

function issuesOf(dir: string, env?: string): ConfigIssue[] {
  try {
    loadConfig({ cwd: dir, env, vars: {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('config errors name file, line:col, key path and what was expected', () => {
  it('accepts a minimal valid file and fills defaults', () => {
    const cfg = loadConfig({ cwd: project(valid), vars: {} });
    expect(cfg.app.targets).toEqual({ test: 'test', runtime: 'runtime' });
    expect(cfg.pipeline.scan.failOn).toEqual(['HIGH', 'CRITICAL']);
    expect(cfg.app.test.command).toEqual(['npm', 'test']);
  });

  it('misspelled key: suggests the nearest valid key', () => {
    const issues = issuesOf(project(valid.replace('  port: 3000', '  prot: 3000')));
    expect(issues).toHaveLength(2);
    expect(issues).toContainEqual(expect.objectContaining({ path: 'app.port', message: 'required: expected number' }));
    const i = issues.find((x) => x.path === 'app.prot');
    expect(i).toMatchObject({ file: 'pier.yaml', line: 4, col: 3, path: 'app.prot' });
    expect(i!.message).toContain('unknown key "prot"; did you mean "port"?');
  });

  it('wrong type: names the expected type and the value found', () => {
    const issues = issuesOf(project(valid.replace('port: 3000', 'port: "eighty"')));
    expect(issues).toEqual([{ file: 'pier.yaml', line: 4, col: 9, path: 'app.port', message: 'expected number, got string "eighty"' }]);
  });

  it('missing required field', () => {
    const issues = issuesOf(project(valid.replace('  image: acme/demo\n', '')));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'pier.yaml', path: 'app.image', message: 'required: expected string' });
    expect(issues[0]!.line).toBe(2); // the parent mapping that lacks it
  });

  it('duplicate key', () => {
    const issues = issuesOf(project(valid.replace('  port: 3000\n', '  port: 3000\n  port: 3001\n')));
    expect(issues[0]).toMatchObject({ file: 'pier.yaml', line: 5, col: 3, path: 'app.port' });
    expect(issues[0]!.message).toMatch(/duplicate key/);
  });

  it('tab indentation', () => {
    const issues = issuesOf(project(valid.replace('  port: 3000', '\tport: 3000')));
    expect(issues.some((i) => i.line === 4 && /tab used for indentation/.test(i.message))).toBe(true);
  });

  it('broken YAML syntax', () => {
    const issues = issuesOf(project(valid.replace('[npm, test]', '[npm, test')));
    expect(issues[0]!.file).toBe('pier.yaml');
    expect(issues[0]!.line).toBeGreaterThan(0);
    expect(issues[0]!.message).toMatch(/^YAML syntax error: /);
  });

  it('reports several errors together, across pier.yaml and the environment file', () => {
    const dir = project(valid.replace('port: 3000', 'port: 0').replace('name: demo', 'name: Demo!'), {
      production: 'hosts:\n  - name: web1\n    address: 10.0.0.1\n    port: "22"\n  - name: web2\n    adress: 10.0.0.2\ndeploy:\n  strategy: yolo\n',
    });
    const issues = issuesOf(dir, 'production');
    const where = issues.map((i) => `${i.file}:${i.line}:${i.col} ${i.path}`);
    expect(where).toEqual(expect.arrayContaining([
      'pier.yaml:2:9 app.name',
      'pier.yaml:4:9 app.port',
      'environments/production.yaml:4:11 hosts[0].port',
      'environments/production.yaml:6:5 hosts[1].adress',
      'environments/production.yaml:5:5 hosts[1].address',
      'environments/production.yaml:8:13 deploy.strategy',
    ]));
    expect(issues.find((i) => i.path === 'hosts[1].adress')!.message).toContain('did you mean "address"?');
    expect(issues.find((i) => i.path === 'deploy.strategy')!.message).toBe('expected one of "rolling", "blue-green", "canary"');
  });

  it('interpolates ${VAR:-default} like compose', () => {
    const dir = project(valid.replace('image: acme/demo', 'image: ${IMG:-acme/demo}'));
    expect(loadConfig({ cwd: dir, vars: {} }).app.image).toBe('acme/demo');
    expect(loadConfig({ cwd: dir, vars: { IMG: 'acme/other' } }).app.image).toBe('acme/other');
  });

  it('the CLI exits 2 and prints file:line:col with the key path', () => {
    const dir = project(valid.replace('  port: 3000', '  prot: 3000'));
    const r = runPierSync(['config'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('pier.yaml:4:3: app.prot: unknown key "prot"; did you mean "port"?');
    expect(r.stderr).toContain('app.port: required: expected number');
  });

  it('finds pier.yaml in a parent directory and prints it with secrets redacted', () => {
    const dir = project(valid.replace('  port: 3000', '  port: 3000\n  env:\n    DB_PASSWORD: hunter22\n    DATABASE_URL: postgres://u:s3cretpw@db/x'));
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    const r = runPierSync(['config', '--json'], { cwd: join(dir, 'sub', 'deeper') });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.app.name).toBe('demo');
    expect(r.stdout).not.toContain('hunter22');
    expect(r.stdout).not.toContain('s3cretpw');
    expect(out.app.env.DB_PASSWORD).toBe('***');
  });
});

describe('pier config never prints a webhook URL (a Slack webhook URL is its own token)', () => {
  const TOKEN = 'T0PIERCFG/B0TEST/SECRETTOKENzx81';
  const envYaml = (notify: string) => `hosts:\n  - name: web1\n    address: 10.0.0.1\nnotify:\n${notify}`;

  it('written out, interpolated from ${VAR} or named by urlEnv: redacted in text and --json, the rest shown', () => {
    const dir = project(valid, {
      production: envYaml([
        `  - url: https://hooks.example/services/${TOKEN}\n    name: written`,
        `  - url: \${SLACK_WEBHOOK_URL}\n    format: slack`,
        `  - urlEnv: OTHER_HOOK`,
      ].join('\n') + '\n'),
    });
    const env = { SLACK_WEBHOOK_URL: `https://hooks.example/services/${TOKEN}-interp`, OTHER_HOOK: `https://hooks.example/other/${TOKEN}-env` };
    for (const args of [['config', '--env', 'production'], ['config', '--env', 'production', '--json']]) {
      const r = runPierSync(args, { cwd: dir, env });
      expect(r.status, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).not.toContain('SECRETTOKEN');
      expect(`${r.stdout}${r.stderr}`).not.toContain('hooks.example');
      expect(r.stdout).toContain('written'); // the receiver itself is still shown
      expect(r.stdout).toContain('OTHER_HOOK');
    }
    const out = JSON.parse(runPierSync(['config', '--env', 'production', '--json'], { cwd: dir, env }).stdout) as { env: { notify: { url?: string }[] } };
    expect(out.env.notify.map((n) => n.url)).toEqual(['***', '***', undefined]);
  });
});
