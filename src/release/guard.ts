/**
 * The post-deploy guard: the analysis (deploy.guard, default the seeds' three rules) run for a
 * window over what the environment serves. A failed metric rolls every host back (pier
 * rollback's fleet-wide switch to the previous release) and the report names the metric, its rule
 * and its figures; an inconclusive result pauses (the release keeps serving, exit 1, said so) or
 * aborts (rolled back) as configured. Time is the injected clock's.
 */
import type { z } from 'zod';
import type { Guard } from '../config/sections/analysis.ts';
import { Guard as GuardSchema } from '../config/sections/analysis.ts';
import { formatDuration } from '../analysis/duration.ts';
import { formatValues, type MetricStatus } from '../analysis/metric.ts';
import type { AccessLogSource } from '../analysis/providers/access-log.ts';
import { runAnalysis, type AnalysisResult } from '../analysis/run.ts';
import { metricSpec, providersFor } from '../analysis/spec.ts';
import type { AccessEntry } from '../deploy/access-log.ts';
import { withHosts } from '../deploy/fleet.ts';
import { webTarget } from '../deploy/target.ts';
import { deployClock, type HostOps } from '../deploy/host-ops.ts';
import { Progress } from '../deploy/progress.ts';
import { rollback, type RollbackReport } from '../deploy/rollback.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { ExitCode, UsageError } from '../util/errors.ts';
import { digestOf } from '../util/image-ref.ts';
import type { Clock } from '../util/poll.ts';
import { redact } from '../util/redact.ts';
import { recordVerdict } from './verdict-store.ts';

export type GuardConfig = z.output<typeof Guard>;

export interface GuardOptions {
  /** Default: deploy.guard of the environment, else the seeds' rules. */
  config?: GuardConfig;
  /** Overrides the configured window (seconds of rule time). */
  windowSeconds?: number;
  clock?: Clock;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Roll the fleet back when the guard fails (default true). */
  rollback?: boolean;
  runId?: string;
  /** Where job metrics run and their BASE_URL. */
  cwd?: string;
}

export type GuardAction = 'none' | 'rolled-back' | 'paused' | 'rollback-failed' | 'not-rolled-back';

export interface GuardReport {
  env: string;
  version: string;
  image?: string;
  phase: AnalysisResult['phase'];
  action: GuardAction;
  ok: boolean;
  exitCode: number;
  /** Rule time the analysis ran. */
  seconds: number;
  analysis: AnalysisResult;
  rollback?: RollbackReport;
  summary: string[];
}

/** Each host's proxy access log from the guard's start: every read returns the entries since the previous one (complete lines, across rotations). */
async function accessLogSource(ops: readonly HostOps[], release: string): Promise<AccessLogSource> {
  const cursors = new Map(await Promise.all(ops.map(async (o) => [o, await o.accessLogMark()] as const)));
  return {
    hosts: ops.map((o) => o.name),
    release,
    async read() {
      const out = new Map<string, AccessEntry[]>();
      await Promise.all(ops.map(async (o) => {
        const r = await o.readAccessLog(cursors.get(o)!);
        cursors.set(o, r.cursor);
        out.set(o.name, r.entries);
      }));
      return out;
    },
  };
}

/** A metric's line in the summary: name, phase, rule, figures. */
export function metricLine(m: MetricStatus): string {
  const mark = m.phase === 'successful' ? '✓' : m.phase === 'failed' ? '✗' : '?';
  return `${mark} ${m.name.padEnd(14)} ${m.phase.padEnd(12)} ${m.measurements} measurements (${m.failed} failed, ${m.inconclusive} inconclusive, ${m.errors} errors)${m.phase !== 'successful' && m.reason ? `\n    ${m.reason}` : m.last?.values ? `; last: ${formatValues(m.last.values, ['error_rate', 'availability', 'p95_ms', 'requests', 'result', 'exit_code'])}` : ''}`;
}

export async function guard(target: DeployTarget, opts: GuardOptions = {}): Promise<GuardReport> {
  const config = opts.config ?? target.settings.guard ?? GuardSchema.parse({});
  const window = opts.windowSeconds ?? config.window;
  // The deploy's clock by default: the simulator's virtual time drives the CLI paths too.
  const clock = opts.clock ?? deployClock;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const url = target.config?.env?.url;
  const specs = config.metrics.map(metricSpec);
  const { serving, analysis } = await withHosts(webTarget(target), async (ops, runId) => {
    const cur = await Promise.all(ops.map(async (o) => ({ host: o.name, cur: await o.readCurrent() })));
    const versions = new Set(cur.map((c) => c.cur?.image ?? '(nothing)'));
    if (versions.size !== 1 || !cur[0]!.cur) {
      throw new UsageError(`cannot guard ${target.envName}: its hosts do not serve one release (${cur.map((c) => `${c.host}: ${c.cur?.version ?? 'nothing'}`).join(', ')})`, `pier status ${target.envName}; deploy or roll back first`);
    }
    const serving = cur[0]!.cur;
    log(`guard ${target.envName}: watching ${serving.version} on ${ops.map((o) => o.name).join(', ')} for ${formatDuration(window)}: ${specs.map((s) => `${s.name} (${s.failureCondition ? s.failureCondition.source : `not ${s.successCondition!.source}`}${s.forSeconds !== undefined ? ` for ${formatDuration(s.forSeconds)}` : ''})`).join(', ')}`);
    const source = await accessLogSource(ops, serving.version);
    const t0 = clock.now();
    const seen = new Map<string, number>();
    const analysis = await runAnalysis({
      metrics: providersFor(specs, { accessLog: () => source, jobEnv: { ...process.env, ...(url ? { BASE_URL: url } : {}), PIER_ENV: target.envName, PIER_VERSION: serving.version }, cwd: opts.cwd ?? target.root }),
      clock, windowSeconds: window, signal: opts.signal,
      onMeasurement: (spec, m, st) => {
        // Quiet while all is well: every non-passing measurement, and each metric once a minute.
        const n = (seen.get(spec.name) ?? 0) + 1;
        seen.set(spec.name, n);
        if (m.phase === 'successful' && (n - 1) % Math.max(1, Math.round(60 / spec.intervalSeconds)) !== 0) return;
        const at = `+${formatDuration((m.at - t0) / 1000)}`;
        log(`  guard ${at.padEnd(8)} ${spec.name.padEnd(14)} ${m.phase.padEnd(12)} ${m.detail ?? formatValues(m.values, [...(spec.failureCondition?.names ?? []), ...(spec.successCondition?.names ?? []), 'requests'])}${st.failingSince !== undefined && st.phase === 'running' ? ` (failing for ${formatDuration((m.at - st.failingSince) / 1000)})` : ''}`);
      },
    });
    const digest = digestOf(serving.image);
    if (digest) {
      await recordVerdict(ops, { env: target.envName, kind: 'guard', version: serving.version, digest, ok: analysis.phase === 'successful', at: new Date().toISOString(), by: target.by, run: opts.runId ?? runId, detail: analysis.reasons }).catch((e: Error) => log(`  guard: verdict not recorded: ${e.message}`));
    }
    return { serving, analysis };
  });
  const detectedAt = Date.now(); // the verdict's moment: where a rollback's time to restore starts
  const summary = analysis.metrics.map(metricLine);
  const base = { env: target.envName, version: serving.version, image: serving.image, phase: analysis.phase, seconds: analysis.seconds, analysis, summary };
  const goBack = analysis.phase === 'failed' || (analysis.phase === 'inconclusive' && config.inconclusive === 'abort' && !analysis.aborted);
  if (analysis.phase === 'successful') return { ...base, action: 'none', ok: true, exitCode: ExitCode.ok };
  if (!goBack) {
    log(`guard ${target.envName}: inconclusive: ${analysis.reasons.join('; ')}; ${serving.version} keeps serving (inconclusive: pause): decide with pier guard ${target.envName} again or pier rollback ${target.envName}`);
    return { ...base, action: 'paused', ok: false, exitCode: ExitCode.gate };
  }
  log(`guard ${target.envName}: ${analysis.phase}: ${analysis.reasons.join('; ')}`);
  if (opts.rollback === false) return { ...base, action: 'not-rolled-back', ok: false, exitCode: ExitCode.gate };
  try {
    // Another deploy during the window changed what serves: rolling "back" would undo it instead.
    const now = await withHosts(webTarget(target), (ops) => Promise.all(ops.map((o) => o.readCurrent())));
    const moved = now.filter((c) => c?.image !== serving.image);
    if (moved.length) {
      const msg = `not rolled back: the hosts no longer serve ${serving.version} (${now.map((c) => c?.version ?? 'nothing').join(', ')}): another deploy or rollback ran during the guard`;
      log(`guard ${target.envName}: ${msg}`);
      return { ...base, action: 'not-rolled-back', ok: false, exitCode: ExitCode.gate, summary: [...summary, msg] };
    }
    log(`guard ${target.envName}: rolling every host back from ${serving.version}`);
    const rb = await rollback(target, { progress: new Progress((l) => log(l)), detected: { at: detectedAt, version: serving.version, reason: `guard ${analysis.phase}: ${analysis.reasons.join('; ')}` } });
    return { ...base, action: rb.ok ? 'rolled-back' : 'rollback-failed', rollback: rb, ok: false, exitCode: ExitCode.gate };
  } catch (e) {
    log(`guard ${target.envName}: rollback failed: ${redact((e as Error).message)}`);
    return { ...base, action: 'rollback-failed', ok: false, exitCode: ExitCode.gate, summary: [...summary, `rollback failed: ${redact((e as Error).message)}`] };
  }
}
