// The example app's end-to-end suites (examples/api/e2e, `npm run test:e2e`) as pier's checks run
// them: against BASE_URL of a real app beside PostgreSQL and Redis, counts read from node:test.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { runChecks } from '../../src/release/checks.ts';
import { newRunId } from '../../src/util/run-id.ts';
import { poll } from '../../src/util/poll.ts';
import { ExampleStack } from '../helpers/example-stack.ts';
import { repoRoot } from '../helpers/paths.ts';
import { statusOf } from '../helpers/http.ts';

const stack = new ExampleStack(newRunId(), 'example-e2e');
let redis: Docker.Container;
let base = '';
const cwd = join(repoRoot, 'examples/api');
const e2e = { name: 'e2e', command: ['npm', 'run', '--silent', 'test:e2e'], timeoutSeconds: 120, reports: [], env: {} };

describe('example app end-to-end suites', () => {
beforeAll(async () => {
  await stack.build('runtime');
  ({ redis } = await stack.startServices());
  ({ base } = await stack.startApp(['MIGRATE_ON_START=1', 'APP_VERSION=e2e-1']));
  await poll('example app healthy', async () => ((await statusOf(`${base}/health`)) === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
}, 300_000);
afterAll(() => stack.close(), 60_000);

describe.sequential('example app end-to-end suites (run)', () => {
  it('CRUD, /health, /version and /metrics pass against the running app, counted', async () => {
    const { ok, results } = await runChecks([e2e], { baseUrl: base, envName: 'e2e', version: 'e2e-1', cwd });
    expect(results[0]!.tail).not.toMatch(/not ok/);
    expect(ok).toBe(true);
    expect(results[0]).toMatchObject({ runner: 'node:test', counts: { tests: 5, pass: 5, fail: 0 } });
  }, 120_000);

  it('with the cache down the suite fails and says which test', async () => {
    await redis.stop({ t: 1 });
    const { ok, results } = await runChecks([e2e], { baseUrl: base, envName: 'e2e', version: 'e2e-1', cwd });
    expect(ok).toBe(false);
    expect(results[0]!.counts?.fail).toBeGreaterThanOrEqual(1);
    expect(results[0]!.failures).toEqual([expect.stringMatching(/\/health: 200 with the database and the cache up/)]);
  }, 120_000);
});
});
