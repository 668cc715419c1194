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
    // the one-step switch: its arguments and the parse of what it printed
    'src/deploy/commands/switch.ts',
    // nginx rendering
    'src/deploy/commands/nginx.ts',
    // rollback-target selection
    'src/deploy/history.ts',
    // role order and role settings (resolveTarget around it reads files: not pure)
    'src/deploy/target.ts:73-96',
    // accessory command builders
    'src/deploy/commands/accessory.ts',
    // HTTPS: nginx TLS rendering, certificate facts and verdicts, the pure parts of certs.ts
    // (store paths, renew hint, tlsOf, a host's certificate judged, the proxy config around a change)
    'src/deploy/commands/nginx-tls.ts',
    'src/certs/x509.ts',
    'src/certs/certs.ts:24-36',
    'src/certs/certs.ts:102-115',
    'src/certs/certs.ts:154-166',
    // DORA figures, deploy notifications, the deploy timeline page
    'src/stats/dora.ts',
    'src/notify/lifecycle.ts',
    'src/report/deploy-timeline.ts',
    // image build record: the pure update (reading and writing the file is I/O)
    'src/pipeline/build-record.ts:17-19',
    'src/pipeline/build-record.ts:32-37',
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
 * file, mutator, replacement, the code it replaced and a piece of its line (not by line number:
 * lines move). Only an undetected mutant is counted out; a listed one that some test kills counts
 * as killed.
 * @type {{ file: string, mutator: string, original: string, replacement: string, context: string, why: string }[]}
 */
export const equivalentMutants = [
  {
    file: 'src/analysis/canary.ts', mutator: 'ArrayDeclaration', original: '[]', replacement: '["Stryker was here"]', context: 'hosts: readonly string[] = []',
    why: 'one made-up host is still fewer than two: fleet-wide metrics only, as with none',
  },
  {
    file: 'src/analysis/canary.ts', mutator: 'Regex', original: '/^canary-(error-rate|p95)(?:@(.+))?$/', replacement: '/canary-(error-rate|p95)(?:@(.+))?$/', context: 'const m = ',
    why: 'failureText only gets names builtIn() accepted, which start with "canary-"',
  },
  {
    file: 'src/analysis/canary.ts', mutator: 'Regex', original: '/^canary-(error-rate|p95)(?:@(.+))?$/', replacement: '/^canary-(error-rate|p95)(?:@(.+))?/', context: 'const m = ',
    why: 'the greedy (.+) after @ runs to the end of the name anyway',
  },
  {
    file: 'src/deploy/canary-analysis.ts', mutator: 'ConditionalExpression', original: 'values.length === 0', replacement: 'false', context: 'if (values.length === 0) return undefined',
    why: 'without values sorted[0] is undefined too',
  },
  {
    file: 'src/deploy/access-log.ts', mutator: 'ConditionalExpression', original: '!line.trim()', replacement: 'false', context: 'if (!line.trim()) continue',
    why: 'a blank line fails JSON.parse and is skipped by the catch',
  },
  {
    file: 'src/deploy/access-log.ts', mutator: 'MethodExpression', original: 'line.trim()', replacement: 'line', context: 'if (!line.trim()) continue',
    why: 'a whitespace-only line fails JSON.parse and is skipped by the catch',
  },
  {
    file: 'src/pipeline/findings.ts', mutator: 'Regex', original: '/#.*$/', replacement: '/#.*/', context: "raw.replace(/#.*$/, '')",
    why: 'lines are split at \\r?\\n, so `.` reaches the end of the line either way',
  },
  {
    file: 'src/pipeline/scanners/trivy.ts', mutator: 'ConditionalExpression', original: "typeof doc !== 'object'", replacement: 'false', context: 'doc.SchemaVersion !== 2',
    why: "a non-object's SchemaVersion is undefined: the same error from the next check",
  },
  {
    file: 'src/pipeline/scanners/trivy.ts', mutator: 'StringLiteral', original: "''", replacement: '"Stryker was here!"', context: "includes(v.Severity ?? '')",
    why: 'neither string is a severity: UNKNOWN either way',
  },
  ...['/=+/', '/=$/'].map((replacement) => ({
    file: 'src/util/redact.ts', mutator: 'Regex', original: '/=+$/', replacement, context: ".replace(/=+$/, '')",
    why: 'the padding lies past `to` (whole sextets only): the slice never includes it',
  })),
  {
    file: 'src/util/redact.ts', mutator: 'StringLiteral', original: "''", replacement: '"Stryker was here!"', context: ".replace(/=+$/, '')",
    why: 'the padding lies past `to` (whole sextets only): the slice never includes it',
  },
  {
    file: 'src/util/redact.ts', mutator: 'ConditionalExpression', original: '!text', replacement: 'false', context: 'if (!text) return text',
    why: "''.replace(...) is ''",
  },
  ...['true', 'false'].map((replacement) => ({
    file: 'src/util/redact.ts', mutator: 'ConditionalExpression', original: "typeof chunk === 'string'", replacement, context: 'this.pending +=',
    why: "'' + buffer is buffer.toString('utf8'), and a string's toString ignores the encoding",
  })),
  {
    file: 'src/util/redact.ts', mutator: 'ConditionalExpression', original: 'm[0].length === 0', replacement: 'false', context: 're.lastIndex++',
    why: 'no alternative matches the empty string (forms have 3+ characters, the URL password 1+), so the guard never fires',
  },
  {
    file: 'src/util/redact.ts', mutator: 'UpdateOperator', original: 're.lastIndex++', replacement: 're.lastIndex--', context: 're.lastIndex++',
    why: 'no alternative matches the empty string: the guarded statement never runs',
  },
  {
    file: 'src/util/redact.ts', mutator: 'EqualityOperator', original: 'm.index >= safe', replacement: 'm.index > safe', context: 'if (m.index >= safe) break',
    why: 'a match starting exactly at the cut moves the cut to its start: the same place',
  },
  {
    file: 'src/config/suggest.ts', mutator: 'ConditionalExpression', original: 'best !== undefined', replacement: 'true', context: 'bestD <= Math.max',
    why: 'without candidates bestD stays Infinity and fails the length check',
  },
  {
    file: 'src/config/interpolate.ts', mutator: 'ConditionalExpression', original: "op === '-'", replacement: 'true', context: "if (op === '-')",
    why: 'without an operator there is no default either: v ?? undefined ?? "" is v ?? ""',
  },
  {
    file: 'src/config/interpolate.ts', mutator: 'StringLiteral', original: "''", replacement: '"Stryker was here!"', context: "return v ? v : (def ?? '')",
    why: 'with ":-" the default group always takes part in the match (maybe empty): def is never undefined',
  },
  {
    file: 'src/config/interpolate.ts', mutator: 'StringLiteral', original: "''", replacement: '"Stryker was here!"', context: "return v ?? def ?? ''",
    why: 'with "-" the default group always takes part in the match (maybe empty): def is never undefined',
  },
  {
    file: 'src/compose/env-file.ts', mutator: 'MethodExpression', original: 'rest.trimStart()', replacement: 'rest.trimEnd()', context: 'unterminated quote',
    why: 'LINE consumes the spaces after "=": the value never starts with whitespace',
  },
  {
    file: 'src/compose/env-file.ts', mutator: 'EqualityOperator', original: 'end < v.length', replacement: 'end <= v.length', context: 'while (end < v.length',
    why: 'one step past the end v[end] is undefined: the loop stops with end >= v.length all the same',
  },
  {
    file: 'src/compose/env-file.ts', mutator: 'Regex', original: '/\\s+#.*$/', replacement: '/\\s+#.*/', context: "v.replace(/\\s+#.*$/, '')",
    why: 'lines are split at \\r?\\n: `.` reaches the end of the value either way',
  },
  {
    file: 'src/deploy/commands/nginx.ts', mutator: 'ConditionalExpression', original: 'u.weight !== undefined', replacement: 'true', context: 'SERVES_PREFIX',
    why: 'JSON.stringify leaves out a key whose value is undefined',
  },
  {
    file: 'src/deploy/history.ts', mutator: 'ConditionalExpression', original: 'stack.at(-1)?.container !== h.current.container', replacement: 'true', context: 'if (h.current?.container &&',
    why: 'when current.json names the top, lastIndex finds it there and the stack keeps its length',
  },
  {
    file: 'src/deploy/history.ts', mutator: 'UnaryOperator', original: '-1', replacement: '+1', context: 'if (h.current?.container &&',
    why: 'the block re-finds current.json\'s container with lastIndex: on the top, the stack keeps its length',
  },
  {
    file: 'src/deploy/history.ts', mutator: 'ConditionalExpression', original: 's.container === current?.container', replacement: 'false', context: 's.version === current?.version',
    why: 'the same container is the same version: the next test skips it',
  },
  {
    file: 'src/deploy/history.ts', mutator: 'MethodExpression', original: 'hosts[i]!.records.filter((r) => r.container)', replacement: 'hosts[i]!.records', context: 'const everServed',
    why: 'a record without a container is never retained (no container has an empty name): never picked',
  },
  // src/stats/dora.ts
  ...[['StringLiteral', "'-'", '""'], ['ConditionalExpression', 's === undefined', 'false']].map(([mutator, original, replacement]) => ({
    file: 'src/stats/dora.ts', mutator, original, replacement, context: 'const fmt = (s: number | undefined)',
    why: 'pct() formats only percentiles with a count, whose p50/p90/max are all set: fmt never gets undefined',
  })),
  {
    file: 'src/stats/dora.ts', mutator: 'Regex', original: '/^(\\d{4}-\\d\\d-\\d\\dT\\S+)\\s+(\\S+)\\s+run=(\\S+)\\s+(.*)$/', replacement: '/^(\\d{4}-\\d\\d-\\d\\dT\\S+)\\s+(\\S+)\\s+run=(\\S+)\\s+(.*)/', context: 'exec(line.trim())',
    why: 'the line is trimmed and auditLine writes one-line messages: `.*` reaches the end either way',
  },
  {
    file: 'src/stats/dora.ts', mutator: 'ConditionalExpression', original: 't !== undefined', replacement: 'true', context: 'const inWindow',
    why: 'undefined >= since is false: outside the window either way',
  },
  {
    file: 'src/stats/dora.ts', mutator: 'Regex', original: '/^deploy (\\S+) (started|succeeded|failed)\\b/', replacement: '/deploy (\\S+) (started|succeeded|failed)\\b/', context: 'let m = ',
    why: "pier's other audit lines (rollback, lock released by hand, maintenance) never contain \"deploy X started|succeeded|failed\"",
  },
  {
    file: 'src/stats/dora.ts', mutator: 'ObjectLiteral', original: '{ run: e.run }', replacement: '{}', context: 'runs.get(e.run) ??',
    why: "a run's `run` field is never read (the map is keyed by it)",
  },
  ...[['ConditionalExpression', "m[1] !== '--env-only'", 'true'], ['StringLiteral', "'--env-only'", '""']].map(([mutator, original, replacement]) => ({
    file: 'src/stats/dora.ts', mutator, original, replacement, context: 'r.version = m[1]',
    why: 'the version only serves to find a commit sha, and "--env-only" carries none: unknown commit either way',
  })),
  ...['/rollback (\\(automatic\\b[^)]*\\) )?.* in ([\\d.]+)s$/', '/^rollback (\\(automatic\\b[^)]*\\) )?.* in ([\\d.]+)s/'].map((replacement) => ({
    file: 'src/stats/dora.ts', mutator: 'Regex', original: '/^rollback (\\(automatic\\b[^)]*\\) )?.* in ([\\d.]+)s$/', replacement, context: 'm = /^rollback',
    why: "rollback's audit lines (commanded and automatic) start with \"rollback \" and end with \"in N.NNs\"; the only free-text lines pier writes (a detection's reason, a deploy's error) are taken by the checks before this one",
  })),
  {
    file: 'src/stats/dora.ts', mutator: 'Regex', original: '/^failure detected in (\\S+?):? /', replacement: '/^failure detected in (\\S+?): /', context: 'm = /^failure detected in',
    why: 'rollback.ts writes "failure detected in VERSION: reason" and a version (an image tag) has no colon or space: the colon is always there',
  },
  {
    file: 'src/stats/dora.ts', mutator: 'ConditionalExpression', original: 'r.ended === undefined', replacement: 'false', context: 'unknownCommit++',
    why: 'a succeeded run got ok and ended from the same audit line: ended is always set',
  },
  {
    file: 'src/stats/dora.ts', mutator: 'ConditionalExpression', original: "rec.event !== 'deployed'", replacement: 'false', context: 'if (rec.run !== run ||',
    why: "a run's other records on a host are `reconciled` ones written before its `deployed` record (the next non-reconciled record after them is that deploy) or `rolled-back` ones (handled above, before this loop)",
  },
  ...[['MethodExpression', 'failedChanges.filter((c) => c.restored !== undefined)', 'failedChanges'], ['ConditionalExpression', 'c.restored !== undefined', 'true']].map(([mutator, original, replacement]) => ({
    file: 'src/stats/dora.ts', mutator, original, replacement, context: 'const ttr = ',
    why: 'a change is marked failed only together with its restore time',
  })),
  // src/notify/lifecycle.ts
  {
    file: 'src/notify/lifecycle.ts', mutator: 'StringLiteral', original: "''", replacement: '"Stryker was here!"', context: 'const digestOf',
    why: 'neither string ends in @sha256:<64 hex>: no digest either way',
  },
  {
    file: 'src/notify/lifecycle.ts', mutator: 'StringLiteral', original: "''", replacement: '"Stryker was here!"', context: "e.phase === 'analysis'",
    why: 'neither string matches /fail|roll/i',
  },
  // src/deploy/target.ts (resolveRoles)
  {
    file: 'src/deploy/target.ts', mutator: 'StringLiteral', original: "'SIGTERM'", replacement: '""', context: "stopSignal: r.stopSignal ?? 'SIGTERM'",
    why: 'the roles schema defaults stopSignal to SIGTERM before resolveRoles sees a role: the fallback never applies',
  },
  // src/certs/certs.ts, src/certs/x509.ts
  {
    file: 'src/certs/certs.ts', mutator: 'ConditionalExpression', original: 's.weight !== undefined', replacement: 'true', context: 'upstreams: serves.map',
    why: 'JSON.stringify leaves out a key whose value is undefined (as for nginx.ts)',
  },
  {
    file: 'src/certs/x509.ts', mutator: 'StringLiteral', original: "''", replacement: '"Stryker was here!"', context: 'leaf.subjectAltName ??',
    why: 'neither string has a DNS: entry: the names fall back to the CN either way',
  },
];
