// Runs the example app's own node:test suite (examples/api/test) from the root vitest run. It
// needs examples/api/node_modules (`npm ci --prefix examples/api`); skipped with that reason if absent.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from '../helpers/paths.ts';

const appDir = join(repoRoot, 'examples/api');
const installed = existsSync(join(appDir, 'node_modules', 'pg')) && existsSync(join(appDir, 'node_modules', 'ioredis'));
const skipReason = `examples/api/node_modules is absent: run \`npm ci --prefix examples/api\` to run the example app's tests`;

/** The counters node's test runner prints at the end (`# tests 52`, `# pass 47`, ...). */
export function testCounts(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of output.matchAll(/^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) counts[m[1]!] = Number(m[2]);
  return counts;
}

describe('example app unit tests (node --test in examples/api)', () => {
  it('parses the runner summary', () => {
    expect(testCounts('ok 1 - x\n# tests 3\n# pass 2\n# fail 1\n# skipped 0\n')).toEqual({ tests: 3, pass: 2, fail: 1, skipped: 0 });
  });

  it.skipIf(!installed)(`npm test passes, database tests skipped without DATABASE_URL/REDIS_URL${installed ? '' : ` (${skipReason})`}`, async () => {
    // No DATABASE_URL/REDIS_URL: this is the pure suite; the integration test runs the rest.
    const env = { ...process.env };
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    const { code, stdout, stderr } = await exec(['node', '--test'], { cwd: appDir, env, nothrow: true, timeoutMs: 120_000 });
    const counts = testCounts(stdout);
    expect(code, `${stdout.slice(-3000)}\n${stderr.slice(-1000)}`).toBe(0);
    expect(counts.fail).toBe(0);
    expect(counts.pass).toBeGreaterThanOrEqual(45);
    expect(counts.skipped).toBe(5);
    expect(counts.pass! + counts.skipped!).toBe(counts.tests);
    expect(stdout).toContain('# SKIP DATABASE_URL and REDIS_URL are not both set');
  }, 130_000);
});
