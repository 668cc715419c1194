/**
 * `checks:` and `smoke:` of an environment: named commands run on the deploying machine against
 * the environment (BASE_URL), each with a timeout; exit code, seconds, test counts (from the
 * runner's own summary: node:test, vitest, jest, pytest, go test; or JUnit XML files the command
 * writes) and its last output lines (redacted) go to the report.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { failingTests, parseJUnit, parseTestOutput, sumCounts, type Runner, type TestCounts } from '../pipeline/test-results.ts';
import { exec } from '../util/exec.ts';
import { redact } from '../util/redact.ts';

export interface CheckSpec {
  name: string;
  command: string[];
  timeoutSeconds: number;
  reports: string[];
  env: Record<string, string>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  exitCode: number | null;
  seconds: number;
  timedOut?: boolean;
  runner?: Runner;
  counts?: TestCounts;
  /** Names of failing tests (from JUnit reports). */
  failures?: string[];
  /** Last lines of stdout+stderr, redacted. */
  tail: string;
}

export interface CheckContext {
  /** BASE_URL of the commands: the environment's url. */
  baseUrl?: string;
  envName: string;
  version: string;
  /** The image (digest reference) under test. */
  image?: string;
  /** Where the commands run (the repository root). */
  cwd: string;
  /** Each output line as it comes (prefixed with the check's name by the caller). */
  onLine?: (check: string, line: string) => void;
  signal?: AbortSignal;
}

/** The environment a check command sees (pure). */
export function checkEnv(spec: Pick<CheckSpec, 'env'>, ctx: Pick<CheckContext, 'baseUrl' | 'envName' | 'version' | 'image'>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    ...spec.env,
    ...(ctx.baseUrl ? { BASE_URL: ctx.baseUrl, PIER_ENV_URL: ctx.baseUrl } : {}),
    PIER_ENV: ctx.envName,
    PIER_VERSION: ctx.version,
    ...(ctx.image ? { PIER_IMAGE: ctx.image } : {}),
  };
}

const tailOf = (text: string, n = 30) => redact(text.trimEnd().split('\n').slice(-n).join('\n'));

/** Run one check; never throws for the command's own failure (that is the result). */
export async function runCheck(spec: CheckSpec, ctx: CheckContext): Promise<CheckResult> {
  const reports = spec.reports.map((r) => (isAbsolute(r) ? r : join(ctx.cwd, r)));
  // A stale report from an earlier run must not count for this one.
  for (const r of reports) rmSync(r, { force: true });
  const t0 = Date.now();
  let partial = '';
  const r = await exec(spec.command, {
    cwd: ctx.cwd, env: checkEnv(spec, ctx), nothrow: true, timeoutMs: spec.timeoutSeconds * 1000, signal: ctx.signal,
    onOutput: (chunk) => {
      if (!ctx.onLine) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) ctx.onLine(spec.name, redact(l));
    },
  }).catch((e: Error) => ({ code: null as number | null, stdout: '', stderr: e.message, argv: spec.command }));
  const seconds = (Date.now() - t0) / 1000;
  const output = `${r.stdout}\n${r.stderr}`;
  const result: CheckResult = { name: spec.name, ok: r.code === 0, exitCode: r.code, seconds, tail: tailOf(output) };
  if (r.code === null && seconds >= spec.timeoutSeconds * 0.99) result.timedOut = true;
  const found = reports.filter((f) => existsSync(f));
  if (found.length) {
    const parsed = found.map((f) => parseJUnit(readFileSync(f, 'utf8')));
    result.runner = 'junit';
    result.counts = sumCounts(parsed);
    result.failures = parsed.flatMap((p) => p.failures);
  } else {
    const parsed = parseTestOutput(output);
    if (parsed) Object.assign(result, { runner: parsed.runner, counts: parsed.counts });
    const failing = failingTests(output);
    if (failing.length) result.failures = failing.map(redact);
  }
  // A runner that reports failures fails the check even when the command's exit code hides it.
  if (result.counts && result.counts.fail > 0) result.ok = false;
  return result;
}

/** Run every check in order (all of them, so the report has every failure); ok when all passed. */
export async function runChecks(specs: readonly CheckSpec[], ctx: CheckContext): Promise<{ ok: boolean; results: CheckResult[] }> {
  const results: CheckResult[] = [];
  for (const s of specs) {
    ctx.signal?.throwIfAborted();
    results.push(await runCheck(s, ctx));
  }
  return { ok: results.every((r) => r.ok), results };
}

/** One line per check: `✓ e2e  12 passed, 0 failed  (3.1s)`. */
export function formatCheck(r: CheckResult): string {
  const counts = r.counts ? `${r.counts.pass} passed, ${r.counts.fail} failed${r.counts.skipped ? `, ${r.counts.skipped} skipped` : ''}${r.runner ? ` (${r.runner})` : ''}` : 'no test counts';
  const how = r.timedOut ? 'timed out' : r.exitCode === null ? 'could not run' : `exit ${r.exitCode}`;
  return `${r.ok ? '✓' : '✗'} ${r.name.padEnd(12)} ${counts}, ${how}, ${r.seconds.toFixed(1)}s${r.failures?.length ? `\n    failing: ${r.failures.slice(0, 10).join('; ')}` : ''}`;
}
