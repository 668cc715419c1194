// StrykerJS over pier's pure modules: `npm run test:mutation` (bench/mutation.ts runs it and prints
// one JSON line). Not part of `npm test`: a full run takes long on 2 cores; incremental re-runs
// (only mutants whose code or covering tests changed) take minutes.
//
// Incremental file: .pier/mutation/stryker-incremental.json (git-ignored), not committed. It is a
// cache of one working tree's results: committed, every change to a mutated module or its tests
// would carry a large generated JSON diff and parallel branches would conflict on it; a fresh
// clone pays one full run instead.
//
// Equivalent mutants (no test can tell them apart from the original) are listed in
// `equivalentMutants` below with why; bench/mutation.ts counts them out of the score (as Stryker
// counts `// Stryker disable` comments), so the source files stay free of tool comments.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/mutation/vitest.config.ts' },
  checkers: ['typescript'],
  // Only the mutated files and what they import: type-checking the whole project per mutant group
  // would dominate the run.
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level constants: a regex, a lookup table) would each re-run every test
  // file of the run (no per-test coverage); on 2 shared cores that is most of a run. They are
  // reported as Ignored; the behaviour those constants carry is covered through the functions
  // using them.
  ignoreStatic: true,
  // The machine's 2 cores are shared: one test-runner process.
  concurrency: 1,
  timeoutMS: 10_000,
  mutate: [
    // canary analysis
    'src/analysis/canary.ts',
    'src/deploy/canary-analysis.ts',
    // access-log parsing and the bake verdict
    'src/deploy/access-log.ts',
    // findings policy, SARIF, trivy
    'src/pipeline/findings.ts',
    'src/pipeline/scanners/trivy.ts',
    // redaction
    'src/util/redact.ts',
    // config interpolation and "did you mean"
    'src/config/interpolate.ts',
    'src/config/suggest.ts',
    // env-file parsing and requiredEnv
    'src/compose/env-file.ts',
    // load-test maths and autocannon options (runLoad and the reconnect hook drive autocannon: not pure)
    'src/pipeline/load.ts:44-87',
    'src/pipeline/load.ts:121-132',
    // remote command builders
    'src/deploy/commands/docker.ts',
    'src/deploy/commands/host.ts',
    'src/deploy/commands/layout.ts',
    'src/deploy/commands/maintenance.ts',
    'src/deploy/commands/retire.ts',
    'src/deploy/commands/shell.ts',
    // nginx rendering
    'src/deploy/commands/nginx.ts',
    // rollback-target selection
    'src/deploy/history.ts',
  ],
  incremental: true,
  incrementalFile: '.pier/mutation/stryker-incremental.json',
  reporters: ['html', 'json', 'progress'],
  htmlReporter: { fileName: '.pier/mutation/index.html' },
  jsonReporter: { fileName: '.pier/mutation/mutation.json' },
  tempDirName: '.pier/stryker-tmp',
  cleanTempDir: true,
  thresholds: { high: 90, low: 85, break: null },
};

/**
 * Mutants no test can kill because the mutated program behaves the same, with why. Matched by
 * file, mutator, the replacement and a piece of the original code (not by line: lines move).
 * @type {{ file: string, mutator: string, original: string, replacement: string, why: string }[]}
 */
export const equivalentMutants = [];
