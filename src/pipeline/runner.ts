/**
 * The runner: the stages in order, stopping at the first failure; every stage timed and reported.
 * Engine-agnostic: the Docker CLI and the Dagger module both call `runPipeline`.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Engine } from '../engine/types.ts';
import { ExitCode, PierError, UsageError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import type { PipelineOptions, Stage, StageContext } from './context.ts';
import type { Progress } from './progress.ts';
import { STAGE_NAMES, type RunReport, type StageName, type StageReport } from './report.ts';
import { buildStage } from './stages/build.ts';
import { loadtestStage } from './stages/loadtest.ts';
import { publishStage } from './stages/publish.ts';
import { scanStage } from './stages/scan.ts';
import { testStage } from './stages/test.ts';

/** Exit code of a run stopped by SIGINT/SIGTERM (128 + 2, the shell convention). */
export const INTERRUPTED = 130;

export interface Selection {
  run: StageName[];
  /** Stages left out, with why. */
  skipped: Partial<Record<StageName, string>>;
}

function names(list: string[] | undefined, flag: string): StageName[] {
  const out: StageName[] = [];
  for (const n of (list ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    if (!(STAGE_NAMES as readonly string[]).includes(n)) throw new UsageError(`${flag}: unknown stage "${n}" (expected one of ${STAGE_NAMES.join(', ')})`);
    out.push(n as StageName);
  }
  return out;
}

/**
 * Which stages run (pure). `--only` and `--skip` select; build is added back whenever a later
 * stage needs its images.
 */
export function selectStages(only?: string[], skip?: string[]): Selection {
  const o = names(only, '--only');
  const s = names(skip, '--skip');
  const skipped: Selection['skipped'] = {};
  const run = STAGE_NAMES.filter((n) => {
    if (o.length && !o.includes(n)) return (skipped[n] = 'not selected (--only)'), false;
    if (s.includes(n)) return (skipped[n] = 'skipped (--skip)'), false;
    return true;
  });
  if (!run.includes('build') && run.length) {
    run.unshift('build');
    delete skipped.build;
  }
  return { run, skipped };
}

export interface RunPipelineInput {
  config: Config;
  engine: Engine;
  runDir: string;
  selection: Selection;
  progress: Progress;
  options?: PipelineOptions;
  hooks?: StageContext['hooks'];
  signal?: AbortSignal;
}

function stageFn(name: StageName, sel: Selection): Stage {
  switch (name) {
    case 'build':
      return (ctx) => buildStage(ctx, sel.run.includes('test'));
    case 'test':
      return testStage;
    case 'scan':
      return scanStage;
    case 'loadtest':
      return loadtestStage;
    case 'publish':
      return publishStage;
  }
}

/** Run the selected stages; never throws for a stage's failure (it lands in the report). */
export async function runPipeline(input: RunPipelineInput): Promise<RunReport> {
  const started = Date.now();
  const ctx: StageContext = {
    engine: input.engine,
    config: input.config,
    runId: input.engine.runId,
    runDir: input.runDir,
    progress: input.progress,
    options: input.options ?? {},
    state: {},
    hooks: input.hooks ?? {},
    signal: input.signal ?? new AbortController().signal,
    files: {},
    notes: [],
  };
  const stages: StageReport[] = [];
  let exitCode: number = ExitCode.ok;
  let stoppedBy: StageName | undefined;
  for (const name of STAGE_NAMES) {
    if (!input.selection.run.includes(name)) {
      stages.push({ name, status: 'skipped', reason: input.selection.skipped[name] ?? 'not selected', durationMs: 0, figures: {} });
      continue;
    }
    if (stoppedBy) {
      stages.push({ name, status: 'skipped', reason: `not run: ${stoppedBy} failed`, durationMs: 0, figures: {} });
      continue;
    }
    const t0 = Date.now();
    input.progress.start(name);
    let rep: StageReport;
    try {
      if (ctx.signal.aborted) throw new PierError('interrupted', ExitCode.environment);
      const out = await stageFn(name, input.selection)(ctx);
      rep = { name, ...out, durationMs: Date.now() - t0 };
      if (ctx.signal.aborted) {
        // The stage ended because close() tore its containers down: not the app's verdict.
        rep = { ...rep, status: 'failed', reason: 'interrupted (SIGINT/SIGTERM): the run was stopped and cleaned up' };
        exitCode = INTERRUPTED;
      } else if (out.status === 'failed') exitCode = ExitCode.gate;
    } catch (err) {
      const e = err as Error;
      const code = ctx.signal.aborted ? INTERRUPTED : err instanceof PierError ? err.exitCode : ExitCode.environment;
      const hint = err instanceof PierError && err.hint ? `\nhint: ${err.hint}` : '';
      rep = { name, status: 'failed', reason: redact(`${ctx.signal.aborted ? 'interrupted: ' : ''}${e.message}${hint}`), durationMs: Date.now() - t0, figures: {} };
      exitCode = code;
    }
    stages.push(rep);
    input.progress.end(name, rep.status, rep.status === 'failed' ? rep.reason?.split('\n')[0] : undefined);
    if (rep.status === 'failed') stoppedBy = name;
  }
  return {
    runId: ctx.runId,
    app: input.config.app.name,
    engine: input.engine.name,
    status: exitCode === 0 ? 'passed' : 'failed',
    exitCode,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    stages,
    files: ctx.files,
    notes: ctx.notes,
  };
}

/** `.pier/runs/<id>` under the config's root. */
export function runDirFor(root: string, runId: string): string {
  return join(root, '.pier', 'runs', runId);
}
