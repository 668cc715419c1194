/**
 * The runner: the stages in order, stopping at the first failure; every stage timed and reported.
 * Engine-agnostic: the Docker CLI and the Dagger module both call `runPipeline`.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Engine } from '../engine/types.ts';
import { ExitCode, PierError, UsageError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import type { PipelineOptions, StageContext } from './context.ts';
import type { Progress } from './progress.ts';
import type { RunReport, StageReport } from './report.ts';
import { STAGE_NAMES, STAGES, stageDef, type StageName } from './stages/index.ts';

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
 * Which stages run (pure). `--only` and `--skip` select; a stage's `needs` (build, for the
 * images) are added back whenever a selected stage reads them.
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
  const needed = new Set<string>();
  const add = (n: StageName) => stageDef(n).needs.forEach((d: string) => needed.has(d) || (needed.add(d), add(d as StageName)));
  run.forEach(add);
  for (const n of needed) delete skipped[n as StageName];
  return { run: STAGE_NAMES.filter((n) => run.includes(n) || needed.has(n)), skipped };
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
  for (const { name, load } of STAGES) {
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
      const out = await (await load())(input.selection.run)(ctx);
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
