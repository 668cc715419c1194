import { defineConfig } from 'vitest/config';

// The unit tests of the pure modules under mutation (stryker.config.mjs), without the integration
// project and its global setup: StrykerJS runs these, and per mutant only the tests covering it.
// Slow files that run real processes on timers (round-trips.test.ts) stay out: the pure builders
// they exercise have exact-argv tests in commands.test.ts.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: [
      'test/unit/analysis/canary.test.ts',
      'test/unit/deploy/canary-analysis.test.ts',
      'test/unit/deploy/logic.test.ts',
      'test/unit/pipeline/trivy.test.ts',
      'test/unit/secrets/redact.test.ts',
      'test/unit/util/util.test.ts',
      'test/unit/compose/env-file.test.ts',
      'test/unit/pipeline/load.test.ts',
      'test/unit/deploy/commands.test.ts',
      'test/unit/deploy/volumes.test.ts',
      'test/unit/deploy/nginx.test.ts',
      'test/unit/deploy/maintenance.test.ts',
      'test/unit/deploy/history.test.ts',
      'test/unit/deploy/round-trips.test.ts',
      'test/unit/analysis/canary-boundaries.test.ts',
      'test/unit/secrets/redact-forms.test.ts',
      'test/unit/config/interpolate.test.ts',
      'test/unit/pipeline/load-stats.test.ts',
      'test/unit/pipeline/findings-sarif.test.ts',
      'test/unit/deploy/command-builders.test.ts',
      'test/unit/deploy/nginx-render.test.ts',
      'test/unit/compose/env-file-edges.test.ts',
      'test/unit/deploy/history-edges.test.ts',
      'test/unit/deploy/roles.test.ts',
      'test/unit/certs/nginx-tls.test.ts',
      'test/unit/certs/x509.test.ts',
      'test/unit/stats/dora.test.ts',
      'test/unit/compose/files.test.ts',
      'test/unit/notify/notify.test.ts',
      'test/unit/report/deploy-timeline.test.ts',
      'test/unit/pipeline/build-record.test.ts',
      'test/unit/deploy/roles-order.test.ts',
      'test/unit/certs/x509-edges.test.ts',
      'test/unit/stats/dora-edges.test.ts',
      'test/unit/notify/lifecycle-edges.test.ts',
      'test/unit/report/deploy-timeline-edges.test.ts',
      'test/unit/certs/nginx-tls-edges.test.ts',
    ],
    testTimeout: 120_000,
    // Under StrykerJS one worker runs every mutant: keep imported modules between runs (mutants are
    // switched at run time, so nothing needs re-importing; test files reset their own state).
    isolate: false,
    reporters: ['default'],
  },
});
