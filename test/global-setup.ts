// Integration tests use the real Docker engine: when it is down, bring it up through the same
// setup script users run (`npm run setup`), so a fresh machine's `npm test` works on its own.
// Then serve the run's fleet pool (test/helpers/fleet-pool.ts): simulated fleets start on a test
// file's first request, are shared by every file asking for the same host count (reset between
// files) and are all removed in the teardown below, whether the tests passed or not.
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { FleetPool, serveFleetPool } from './helpers/fleet-pool.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    console.log('global-setup: no Docker engine answers; running npm run setup');
    execFileSync('node', ['scripts/setup.mjs'], { stdio: 'inherit' });
  }
  const pool = new FleetPool((s) => console.log(`fleet pool: ${s}`));
  const server = await serveFleetPool(pool);
  project.provide('fleetPool', server.url);
  return async () => {
    await server.close();
    await pool.removeAll();
  };
}
