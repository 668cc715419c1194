import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../../src/util/errors.ts';
import { parseTestCounts } from '../../../src/pipeline/stages/test.ts';
import { publishRef, registryAuth } from '../../../src/pipeline/stages/publish.ts';
import { selectStages } from '../../../src/pipeline/runner.ts';
import { appVersion, imageTag } from '../../../src/pipeline/version.ts';
import { figureLine, summary, type RunReport } from '../../../src/pipeline/report.ts';
import { redact } from '../../../src/util/redact.ts';

describe('image tag', () => {
  it('is semver + short sha, -dirty with changes, -nogit outside git', () => {
    expect(imageTag('1.0.0', 'abc1234', false)).toBe('1.0.0-abc1234');
    expect(imageTag('1.0.0', 'abc1234', true)).toBe('1.0.0-abc1234-dirty');
    expect(imageTag('1.0.0', undefined, true)).toBe('1.0.0-nogit');
  });
  it('reads the version from the app package.json and names the file when it is not semver', () => {
    const d = mkdtempSync(join(tmpdir(), 'pier-ver-'));
    writeFileSync(join(d, 'package.json'), '{"version":"2.3.4"}');
    expect(appVersion(d)).toBe('2.3.4');
    writeFileSync(join(d, 'package.json'), '{"version":"two"}');
    expect(() => appVersion(d)).toThrow(ConfigError);
    expect(() => appVersion(d)).toThrow(/package\.json: version: expected a semver string/);
  });
});

describe('test counts', () => {
  it('node:test / TAP summary', () => {
    expect(parseTestCounts('ok 1 - a\n# tests 52\n# suites 3\n# pass 50\n# fail 1\n# cancelled 0\n# skipped 1\n# todo 0\n')).toEqual({ tests: 52, pass: 50, fail: 1, skipped: 1 });
  });
  it('vitest and jest summaries', () => {
    expect(parseTestCounts(' Test Files  1 passed (1)\n      Tests  2 failed | 5 passed (7)\n')).toEqual({ tests: 7, pass: 5, fail: 2 });
    expect(parseTestCounts('Tests:       1 failed, 4 passed, 5 total\n')).toEqual({ tests: 5, pass: 4, fail: 1 });
  });
  it('nothing recognisable: undefined', () => {
    expect(parseTestCounts('all good\n')).toBeUndefined();
  });
});

describe('stage selection', () => {
  it('all stages by default', () => {
    expect(selectStages()).toEqual({ run: ['build', 'test', 'scan', 'loadtest', 'publish'], skipped: {} });
  });
  it('--only adds build back when a stage needs images; --skip leaves stages out', () => {
    expect(selectStages(['scan,publish'])).toEqual({
      run: ['build', 'scan', 'publish'],
      skipped: { test: 'not selected (--only)', loadtest: 'not selected (--only)' },
    });
    expect(selectStages(undefined, ['loadtest', 'publish']).run).toEqual(['build', 'test', 'scan']);
  });
  it('an unknown stage is a usage error (exit 2)', () => {
    expect(() => selectStages(['deploy'])).toThrow(UsageError);
    expect(() => selectStages(undefined, ['tests'])).toThrow(/--skip: unknown stage "tests"/);
  });
});

describe('registry', () => {
  const reg = { address: '127.0.0.1:5000', startLocal: true };
  it('publish reference', () => {
    expect(publishRef(reg, 'pier/api', '1.0.0-abc')).toBe('127.0.0.1:5000/pier/api:1.0.0-abc');
    expect(publishRef({ ...reg, repository: 'team/api' }, 'pier/api', 't')).toBe('127.0.0.1:5000/team/api:t');
  });
  it('auth from an env var, registered as a secret; missing variable is a config error', () => {
    expect(registryAuth(reg, '/')).toBeUndefined();
    const auth = registryAuth({ ...reg, username: 'ci', passwordEnv: 'REG_PW' }, '/', { REG_PW: 'hunter2-very-secret' });
    expect(auth).toEqual({ username: 'ci', password: 'hunter2-very-secret' });
    expect(redact('pushed with hunter2-very-secret')).toBe('pushed with ***');
    expect(() => registryAuth({ ...reg, username: 'ci', passwordEnv: 'NOPE' }, '/', {})).toThrow(/passwordEnv: environment variable NOPE is not set/);
  });
  it('auth from a file', () => {
    const d = mkdtempSync(join(tmpdir(), 'pier-pw-'));
    writeFileSync(join(d, 'pw'), 's3cr3t-from-file\n');
    expect(registryAuth({ ...reg, username: 'ci', passwordFile: 'pw' }, d)?.password).toBe('s3cr3t-from-file');
  });
});

describe('summary', () => {
  it('one line per stage with its figures, reasons indented', () => {
    const r: RunReport = {
      runId: 'r1', app: 'api', engine: 'docker', status: 'failed', exitCode: 1, startedAt: '', durationMs: 12_300, files: {},
      stages: [
        { name: 'build', status: 'passed', durationMs: 1000, figures: { image: 'pier/api:1' } },
        { name: 'test', status: 'failed', reason: 'npm test exited 1', durationMs: 2000, figures: { tests: 3, pass: 2, fail: 1 } },
        { name: 'scan', status: 'skipped', reason: 'not run: test failed', durationMs: 0, figures: {} },
      ],
    };
    expect(summary(r, '/x/report.json')).toBe(
      [
        'pier ci r1: FAILED in 12.3 s (engine docker)',
        '  ✓ build    passed  1.0s  image pier/api:1',
        '  ✗ test     failed  2.0s  3 tests, 2 passed, 1 failed',
        '      npm test exited 1',
        '  - scan     skipped',
        '      not run: test failed',
        '  report: /x/report.json',
      ].join('\n'),
    );
    expect(figureLine({ name: 'loadtest', status: 'passed', durationMs: 1, figures: { p50Ms: 1, p95Ms: 2, p99Ms: 3, rps: 100, errorRate: 0.005 } })).toBe(
      'p50 1 ms, p95 2 ms, p99 3 ms, 100 req/s, errors 0.50%',
    );
  });
});
