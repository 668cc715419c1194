import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    // Integration tests share one Docker engine on a 2-core machine: run files one at a time there.
    fileParallelism: false,
    reporters: ['default'],
    globalSetup: ['test/global-setup.ts'],
  },
});
