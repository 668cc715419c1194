/** Test stage: the app's test command in its test target, next to real sidecars. */
import type { SidecarSpec } from '../../engine/types.ts';
import type { AppConfig } from '../../config/schema.ts';
import type { StageContext, StageOutcome } from '../context.ts';

/** Sidecars of the app's services (pure). */
export function sidecars(app: AppConfig): SidecarSpec[] {
  return Object.entries(app.services).map(([name, s]) => ({ name, image: s.image, env: s.env, port: s.port, ...(s.healthcheck ? { healthcheck: s.healthcheck } : {}) }));
}

export interface TestCounts {
  tests: number;
  pass: number;
  fail: number;
  skipped?: number;
}

/**
 * Test counts from a runner's output (pure): node:test / TAP (`# tests N`, `# pass N`,
 * `# fail N`), vitest (`Tests  2 failed | 5 passed (7)`) and jest (`Tests: 1 failed, 4 passed, 5 total`).
 */
export function parseTestCounts(out: string): TestCounts | undefined {
  const tap = (k: string) => {
    const all = [...out.matchAll(new RegExp(`^#\\s*${k}\\s+(\\d+)\\s*$`, 'gm'))];
    return all.length ? Number(all[all.length - 1]![1]) : undefined;
  };
  const t = tap('tests');
  if (t !== undefined) {
    const skipped = (tap('skipped') ?? 0) + (tap('todo') ?? 0);
    return { tests: t, pass: tap('pass') ?? 0, fail: tap('fail') ?? 0, ...(skipped ? { skipped } : {}) };
  }
  const vit = /^\s*Tests\s+(?:(\d+) failed\s*\|\s*)?(?:(\d+) passed)?.*?\((\d+)\)\s*$/m.exec(out);
  if (vit) return { tests: Number(vit[3]), pass: Number(vit[2] ?? 0), fail: Number(vit[1] ?? 0) };
  const jest = /^Tests:\s+(?:(\d+) failed, )?(?:\d+ skipped, )?(?:(\d+) passed, )?(\d+) total/m.exec(out);
  if (jest) return { tests: Number(jest[3]), pass: Number(jest[2] ?? 0), fail: Number(jest[1] ?? 0) };
  return undefined;
}

export async function testStage(ctx: StageContext): Promise<StageOutcome> {
  const { app } = ctx.config;
  const image = ctx.state.testImage;
  if (!image) throw new Error('test stage needs the test image: build first');
  let passes = 0;
  let fails = 0;
  const r = await ctx.engine.run({
    image,
    command: app.test.command,
    env: { ...app.env, CI: 'true' },
    sidecars: sidecars(app),
    timeoutMs: 15 * 60_000,
    onLog: (line) => {
      if (/^\s*ok \d+/.test(line)) passes++;
      if (/^\s*not ok \d+/.test(line)) fails++;
      ctx.progress.live(`${passes} passed, ${fails} failed`);
    },
  });
  const counts = parseTestCounts(`${r.stdout}\n${r.stderr}`);
  const figures = { ...(counts ?? {}), exitCode: r.exitCode };
  if (r.exitCode !== 0) {
    const tail = (r.stdout + r.stderr).trim().split('\n').slice(-12).join('\n');
    return { status: 'failed', reason: `${app.test.command.join(' ')} exited ${r.exitCode}${counts ? ` (${counts.fail} of ${counts.tests} failed)` : ''}\n${tail}`, figures };
  }
  return { status: 'passed', figures };
}
