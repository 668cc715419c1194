/**
 * Test stage: the app's test command in its test target (or the runtime image when the Dockerfile
 * has none), next to real sidecars; counts from the runner's output or its JUnit XML reports.
 */
import type { SidecarSpec } from '../../engine/types.ts';
import type { AppConfig } from '../../config/schema.ts';
import type { StageContext, StageOutcome } from '../context.ts';
import { LiveCounter, parseJUnit, parseTestOutput, sumCounts, type TestCounts } from '../test-results.ts';

/**
 * Counts for the report (pure): the JUnit reports when the app wrote any (exact, per test case),
 * else the runner's own summary in its output. A report that is missing or unreadable is said.
 */
export function testFigures(out: string, reportPaths: string[], files: Record<string, string>): Record<string, unknown> {
  const fromOutput = parseTestOutput(out);
  const reports: Record<string, TestCounts> = {};
  const problems: string[] = [];
  const failures: string[] = [];
  for (const path of reportPaths) {
    const xml = files[path];
    if (xml === undefined) {
      problems.push(`${path}: not written by the test command`);
      continue;
    }
    try {
      const { failures: f, ...c } = parseJUnit(xml);
      reports[path] = c;
      failures.push(...f);
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
    }
  }
  const junit = Object.values(reports);
  const counts = junit.length ? sumCounts(junit) : fromOutput?.counts;
  return {
    ...(counts ?? {}),
    ...(junit.length ? { runner: 'junit', reports } : fromOutput ? { runner: fromOutput.runner } : {}),
    ...(failures.length ? { failures: failures.slice(0, 20) } : {}),
    ...(problems.length ? { reportProblems: problems } : {}),
  };
}

/** Sidecars of the app's services (pure). */
export function sidecars(app: AppConfig): SidecarSpec[] {
  return Object.entries(app.services).map(([name, s]) => ({ name, image: s.image, env: s.env, port: s.port, ...(s.healthcheck ? { healthcheck: s.healthcheck } : {}) }));
}

export { parseTestCounts, type TestCounts } from '../test-results.ts';

export async function testStage(ctx: StageContext): Promise<StageOutcome> {
  const { app } = ctx.config;
  const image = ctx.state.testImage;
  if (!image) throw new Error('test stage needs the test image: build first');
  const live = new LiveCounter();
  const r = await ctx.engine.run({
    image,
    command: app.test.command,
    env: { ...app.env, CI: 'true' },
    sidecars: sidecars(app),
    timeoutMs: 15 * 60_000,
    outputs: app.test.reports,
    onLog: (line) => {
      if (live.line(line)) ctx.progress.live(live.text());
    },
  });
  const figures: Record<string, unknown> = { ...testFigures(`${r.stdout}\n${r.stderr}`, app.test.reports, r.files), exitCode: r.exitCode };
  for (const p of (figures.reportProblems as string[] | undefined) ?? []) ctx.progress.note(`test report ${p}`);
  if (r.exitCode !== 0) {
    const tail = (r.stdout + r.stderr).trim().split('\n').slice(-12).join('\n');
    const c = figures as Partial<TestCounts>;
    return { status: 'failed', reason: `${app.test.command.join(' ')} exited ${r.exitCode}${c.tests !== undefined ? ` (${c.fail} of ${c.tests} failed)` : ''}\n${tail}`, figures };
  }
  return { status: 'passed', figures };
}
