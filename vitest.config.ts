import { defineConfig } from 'vitest/config';

// Two projects, run one after the other (sequence.groupOrder):
//   unit: pure logic, simulations, the Dagger contract: files in parallel on worker threads;
//   integration: real Docker on a 2-core machine: one file at a time, each in its own process,
//     with the run's fleet pool (test/global-setup.ts) so deploy files share simulated fleets.
// The two pools' sizes are set here because vitest sizes a pool from the root config only.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 300_000,
    reporters: ['default'],
    maxWorkers: 2,
    poolOptions: {
      threads: { maxThreads: 2, minThreads: 1 },
      forks: { maxForks: 1, minForks: 1 },
    },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/dagger/**/*.test.ts', 'test/conformance/**/*.test.ts'],
          pool: 'threads',
          // Two files at once: a file spawning many CLI processes takes up to twice as long.
          testTimeout: 120_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
          globalSetup: ['test/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
