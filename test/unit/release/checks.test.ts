import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatCheck, runCheck, runChecks, type CheckSpec } from '../../../src/release/checks.ts';

const dir = mkdtempSync(join(tmpdir(), 'pier-checks-'));
const node = process.execPath;
const spec = (o: Partial<CheckSpec> & { command: string[] }): CheckSpec => ({ name: 'e2e', timeoutSeconds: 30, reports: [], env: {}, ...o });
const ctx = { baseUrl: 'http://127.0.0.1:9/', envName: 'staging', version: 'v5', image: `reg:5000/app@sha256:${'a'.repeat(64)}`, cwd: dir };

writeFileSync(join(dir, 'suite.test.mjs'), `
import test from 'node:test';
import assert from 'node:assert';
test('create item', () => assert.ok(process.env.BASE_URL));
test('list items', () => {});
test('delete item', () => assert.strictEqual(process.env.PIER_VERSION, 'v6'));
`);

describe('checks against an environment (real processes)', () => {
  it('node:test counts, the failure fails the check; BASE_URL and PIER_VERSION set', async () => {
    const r = await runCheck(spec({ command: [node, '--test', 'suite.test.mjs'] }), ctx);
    expect(r).toMatchObject({ name: 'e2e', ok: false, exitCode: 1, runner: 'node:test', counts: { tests: 3, pass: 2, fail: 1 } });
    expect(r.failures).toEqual(['delete item']);
    expect(formatCheck(r)).toMatch(/^✗ e2e {10}2 passed, 1 failed \(node:test\), exit 1, \d+\.\ds\n {4}failing: delete item$/);
  });

  it('the environment a command sees: BASE_URL, PIER_ENV, PIER_IMAGE and its own env', async () => {
    const probe = `const e = process.env; process.exit(e.BASE_URL === 'http://127.0.0.1:9/' && e.PIER_ENV_URL === e.BASE_URL && e.PIER_ENV === 'staging' && e.PIER_IMAGE.endsWith('a'.repeat(64)) && e.EXTRA === '1' ? 0 : 7)`;
    expect((await runCheck(spec({ command: [node, '-e', probe], env: { EXTRA: '1' } }), ctx)).ok).toBe(true);
    expect((await runCheck(spec({ command: [node, '-e', probe] }), ctx)).exitCode).toBe(7);
  });

  it('JUnit reports give counts and failing names; a stale report from an earlier run is removed first', async () => {
    const xml = `<testsuites><testsuite name="e2e"><testcase classname="items" name="create"/><testcase classname="items" name="delete"><failure message="404"/></testcase></testsuite></testsuites>`;
    writeFileSync(join(dir, 'junit.xml'), xml);
    const none = await runCheck(spec({ command: [node, '-e', '0'], reports: ['junit.xml'] }), ctx);
    expect(none.counts).toBeUndefined();
    const write = `require('fs').writeFileSync('junit.xml', ${JSON.stringify(xml)})`;
    const r = await runCheck(spec({ command: [node, '-e', write], reports: ['junit.xml'] }), ctx);
    expect(r).toMatchObject({ ok: false, exitCode: 0, runner: 'junit', counts: { pass: 1, fail: 1 } });
    expect(r.failures?.[0]).toMatch(/delete/);
  });

  it('a command over its timeout is killed and fails; one that cannot start fails; all checks run', async () => {
    const { ok, results } = await runChecks([
      spec({ name: 'slow', command: [node, '-e', 'setTimeout(() => {}, 10000)'], timeoutSeconds: 0.5 }),
      spec({ name: 'missing', command: ['/nonexistent/pier-check'] }),
      spec({ name: 'fine', command: [node, '-e', 'console.log("ok")'] }),
    ], ctx);
    expect(ok).toBe(false);
    expect(results.map((r) => `${r.name}:${r.ok}:${r.exitCode}:${r.timedOut ?? false}`)).toEqual(['slow:false:null:true', 'missing:false:null:false', 'fine:true:0:false']);
    expect(formatCheck(results[0]!)).toMatch(/timed out/);
    expect(results[1]!.tail).toMatch(/ENOENT/);
  });
});
