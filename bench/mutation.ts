// npm run test:mutation: StrykerJS over pier's pure modules (stryker.config.mjs), incremental
// (.pier/mutation/stryker-incremental.json), HTML report at .pier/mutation/index.html.
// Stryker's own output goes to stderr; the last line on stdout is the JSON result:
//   {"bench":"mutation","score":..,"modules":{"<file>":score,...},"survivors":..,...}
// Scores are Stryker's (killed + timed out) / (killed + timed out + survived + no coverage), in %,
// with the equivalent mutants listed in stryker.config.mjs counted out.
// Extra arguments go to Stryker: `npm run test:mutation -- --mutate src/util/redact.ts`;
// `npm run test:mutation -- --summary` prints the line for the last results without a run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const reportFile = join(root, '.pier/mutation/mutation.json');
const mergedFile = join(root, '.pier/mutation/merged.json');

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Equivalent {
  file: string;
  mutator: string;
  original: string;
  replacement: string;
  /** A piece of the mutant's (first) source line. */
  context: string;
  why: string;
}

/** The source text a mutant replaced (lines and columns 1-based). */
function originalText(source: string, m: Mutant): string {
  const lines = source.split('\n');
  const { start, end } = m.location;
  if (start.line === end.line) return lines[start.line - 1]!.slice(start.column - 1, end.column - 1);
  return [lines[start.line - 1]!.slice(start.column - 1), ...lines.slice(start.line, end.line - 1), lines[end.line - 1]!.slice(0, end.column - 1)].join('\n');
}

const started = Date.now();
const stryker = join(root, 'node_modules/.bin/stryker');
// `--summary`: no run, the line for the results so far (e.g. after editing equivalentMutants).
const summaryOnly = process.argv.includes('--summary');
if (!summaryOnly) {
  // Stryker rewrites the incremental file with this run's files only: after a `--mutate` run the
  // other files' cached results would be gone and the next full run would test them all again.
  // Their entries are put back (this run's files and test files win).
  const args = process.argv.slice(2);
  const at = args.indexOf('--incrementalFile');
  const incrementalFile = join(root, at >= 0 && args[at + 1] ? args[at + 1]! : '.pier/mutation/stryker-incremental.json');
  type Incremental = { files?: Record<string, unknown>; testFiles?: Record<string, unknown> };
  const before: Incremental | undefined = args.includes('--mutate') && existsSync(incrementalFile) ? (JSON.parse(readFileSync(incrementalFile, 'utf8')) as Incremental) : undefined;
  const run = spawnSync(stryker, ['run', 'stryker.config.mjs', ...args], { cwd: root, stdio: ['ignore', 2, 2] });
  if (run.status !== 0 || !existsSync(reportFile)) {
    console.error(`stryker failed (exit ${run.status ?? run.signal})`);
    process.exit(run.status || 3);
  }
  if (before && existsSync(incrementalFile)) {
    const after = JSON.parse(readFileSync(incrementalFile, 'utf8')) as Incremental;
    writeFileSync(incrementalFile, JSON.stringify({ ...after, files: { ...before.files, ...after.files }, testFiles: { ...before.testFiles, ...after.testFiles } }));
  }
}

const { equivalentMutants } = (await import(pathToFileURL(join(root, 'stryker.config.mjs')).href)) as { equivalentMutants: Equivalent[] };
type Report = { files: Record<string, { source: string; mutants: Mutant[] }> };
// A run over some files (`--mutate`) updates those files' results in the merged report; the line
// covers every file measured so far whose source is unchanged since.
const latest: Report = summaryOnly ? { files: {} } : (JSON.parse(readFileSync(reportFile, 'utf8')) as Report);
const merged: Report = existsSync(mergedFile) ? (JSON.parse(readFileSync(mergedFile, 'utf8')) as Report) : { files: {} };
for (const [path, file] of Object.entries(latest.files)) merged.files[path] = file;
for (const [path, file] of Object.entries(merged.files)) {
  const now = join(root, path);
  if (!existsSync(now) || readFileSync(now, 'utf8') !== file.source) delete merged.files[path];
}
writeFileSync(mergedFile, JSON.stringify(merged));
const report = merged;

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const modules: Record<string, number> = {};
let detected = 0;
let undetected = 0;
let equivalent = 0;
const survivorsByModule: Record<string, number> = {};
for (const [path, file] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
  const name = relative(root, join(root, path));
  let d = 0;
  let u = 0;
  for (const m of file.mutants) {
    const isEquivalent = equivalentMutants.some(
      (e) =>
        e.file === name &&
        e.mutator === m.mutatorName &&
        e.replacement === m.replacement &&
        originalText(file.source, m) === e.original &&
        file.source.split('\n')[m.location.start.line - 1]!.includes(e.context),
    );
    if (isEquivalent && UNDETECTED.has(m.status)) {
      equivalent++;
      continue;
    }
    if (DETECTED.has(m.status)) d++;
    else if (UNDETECTED.has(m.status)) u++;
  }
  detected += d;
  undetected += u;
  if (d + u) modules[name] = Math.round((d / (d + u)) * 1000) / 10;
  if (u) survivorsByModule[name] = u;
}

const total = detected + undetected;
console.log(
  JSON.stringify({
    bench: 'mutation',
    score: total ? Math.round((detected / total) * 1000) / 10 : 0,
    modules,
    survivors: undetected,
    survivorsByModule,
    mutants: total,
    equivalent,
    seconds: Math.round((Date.now() - started) / 1000),
    report: '.pier/mutation/index.html',
  }),
);
