/**
 * The release flow of the seeds, on plain SSH hosts:
 *   deploy <version> to staging -> staging checks (verdict recorded by digest) ->
 *   promote: production gets exactly the digest staging serves and passed -> smoke -> guard.
 * `promote` is also `pier promote <from> <to>`; `afterDeploy` (smoke + guard) also runs after a
 * plain `pier deploy`. Every step goes into one report.
 */
import type { DeployOptions, DeployReport } from '../deploy/deploy.ts';
import { notifySteps, observedDeploy } from '../notify/observed-deploy.ts';
import { withHosts } from '../deploy/fleet.ts';
import { Progress } from '../deploy/progress.ts';
import { rollback } from '../deploy/rollback.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { ExitCode, PierError } from '../util/errors.ts';
import { digestOf } from '../util/image-ref.ts';
import type { Clock } from '../util/poll.ts';
import { redact } from '../util/redact.ts';
import { newRunId } from '../util/run-id.ts';
import { formatCheck } from './checks.ts';
import { runEnvChecks, type EnvChecksReport } from './env-checks.ts';
import { guard, type GuardReport } from './guard.ts';
import type { ReleaseReport, ReleaseStep } from './report.ts';
import { requirePassed } from './require-passed.ts';
import { readVerdicts } from './verdict-store.ts';
import { decidePromotion, type Promotable } from './verdicts.ts';

export interface FlowOptions {
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Guard clock (tests run minutes of rule time in seconds). */
  clock?: Clock;
  /** Skip the post-deploy guard even when deploy.guard is set. */
  noGuard?: boolean;
  runId?: string;
  /** Passed through to every deploy (the CLI's pre-migration backup, a progress printer...). */
  deploy?: Partial<DeployOptions>;
  /** Another environment's target (deploy.requirePassed of the destination, when it is not the source). */
  targetOf?: (env: string) => DeployTarget;
}

const since = (t0: number) => (Date.now() - t0) / 1000;
const logOf = (o: FlowOptions) => o.log ?? ((l: string) => process.stderr.write(`${l}\n`));

/** A step from a deploy report. */
/** A step from a deploy report; its detail also names the deploy's picture and undelivered notifications. */
function deployStep(env: string, r: DeployReport, picture: string, warnings: string[]): ReleaseStep {
  const hosts = r.hosts.map((h) => `${h.host}:${h.status}`).join(' ');
  return {
    name: 'deploy', env, status: r.ok ? 'passed' : 'failed', seconds: r.seconds,
    summary: r.ok ? `${r.version} on ${r.hosts.length} hosts (${hosts})` : `${redact(r.error ?? 'failed')} (${hosts})`,
    detail: { ...r, timelinePicture: picture, ...(warnings.length ? { notificationWarnings: warnings } : {}) },
  };
}

function checksStep(name: string, env: string, r: EnvChecksReport): ReleaseStep {
  return { name, env, status: r.ok ? 'passed' : 'failed', seconds: r.seconds, summary: r.results.map(formatCheck).join('\n'), detail: r };
}

function guardStep(env: string, g: GuardReport): ReleaseStep {
  const status = g.ok ? 'passed' : g.action === 'paused' ? 'paused' : 'failed';
  const head = g.ok ? `${g.version} held for ${g.seconds.toFixed(0)}s of rule time` : `${g.phase}, ${g.action}: ${g.analysis.reasons.join('; ')}`;
  return { name: 'guard', env, status, seconds: g.seconds, summary: [head, ...g.summary].join('\n'), detail: g };
}

/**
 * After a successful deploy to `target`: its `smoke:` commands (a failure rolls every host back),
 * then the guard when deploy.guard is set (and not `noGuard`). Returns the steps; the last
 * failing step decides.
 */
export async function afterDeploy(target: DeployTarget, o: FlowOptions = {}): Promise<ReleaseStep[]> {
  const log = logOf(o);
  const steps: ReleaseStep[] = [];
  if (target.config?.env?.smoke.length) {
    const smoke = await runEnvChecks(target, 'smoke', { log, signal: o.signal, runId: o.runId });
    steps.push(checksStep('smoke', target.envName, smoke));
    if (!smoke.ok) {
      log(`smoke of ${target.envName} failed: rolling every host back from ${smoke.version}`);
      const t0 = Date.now();
      const failing = smoke.results.filter((r) => !r.ok).map((r) => r.name).join(', ');
      const rb = await rollback(target, { progress: new Progress((l) => log(l)), detected: { at: t0, version: smoke.version, reason: `smoke failed: ${failing}` } }).catch((e: Error) => e);
      steps.push(rb instanceof Error
        ? { name: 'rollback', env: target.envName, status: 'failed', seconds: since(t0), summary: redact(rb.message) }
        : { name: 'rollback', env: target.envName, status: rb.ok ? 'passed' : 'failed', seconds: rb.seconds, summary: `every host back on ${rb.version}`, detail: rb });
      return steps;
    }
  }
  if (target.settings.guard && !o.noGuard) {
    const g = await guard(target, { clock: o.clock, signal: o.signal, log, runId: o.runId });
    steps.push(guardStep(target.envName, g));
  } else steps.push({ name: 'guard', env: target.envName, status: 'skipped', seconds: 0, summary: o.noGuard ? '--no-guard' : 'deploy.guard not set' });
  return steps;
}

/** Is what `from` serves promotable? Reads every host's current release and the recorded verdicts. */
export async function promotable(from: DeployTarget): Promise<Promotable> {
  return withHosts(from, async (ops) => {
    const [serving, verdicts] = await Promise.all([
      Promise.all(ops.map(async (o) => {
        const c = await o.readCurrent();
        return { host: o.name, version: c?.version, image: c?.image };
      })),
      readVerdicts(ops),
    ]);
    return decidePromotion(from.envName, serving, verdicts, (from.config?.env?.checks.length ?? 0) > 0);
  });
}

const finish = (run: string, command: string, t0: number, steps: ReleaseStep[], extra: Partial<ReleaseReport> = {}): ReleaseReport => {
  const bad = steps.find((s) => s.status === 'failed' || s.status === 'paused');
  return { run, command, ok: !bad, exitCode: bad ? ExitCode.gate : ExitCode.ok, seconds: since(t0), steps, ...extra };
};

/** `pier promote <from> <to>`: exactly the digest `from` serves and passed, onto `to`, then smoke and guard there. */
export async function promote(from: DeployTarget, to: DeployTarget, o: FlowOptions = {}, steps: ReleaseStep[] = [], command = `promote ${from.envName} ${to.envName}`, t0 = Date.now()): Promise<ReleaseReport> {
  const run = o.runId ?? newRunId();
  const log = logOf(o);
  const tp = Date.now();
  let p: Promotable;
  try {
    p = await promotable(from);
    // The destination may demand another environment's pass too (deploy.requirePassed), by digest.
    const required = to.settings.requirePassed;
    if (required && required !== from.envName) {
      if (!o.targetOf) throw new Error(`promote: ${to.envName} requires ${required}'s pass but no way to reach ${required} was given`);
      await requirePassed(to, o.targetOf(required), { version: p.version, digest: p.digest });
    }
  } catch (e) {
    if (!(e instanceof PierError) || e.exitCode !== ExitCode.gate) throw e;
    steps.push({ name: 'promotion gate', env: from.envName, status: 'failed', seconds: since(tp), summary: e.message });
    return finish(run, command, t0, steps, { error: e.message });
  }
  steps.push({ name: 'promotion gate', env: from.envName, status: 'passed', seconds: since(tp), summary: `${p.version} ${p.digest} passed ${from.envName} checks (${p.verdict.at}): ${p.verdict.detail.join('; ')}` });
  log(`promote ${p.version} (${p.digest}) from ${from.envName} to ${to.envName}`);
  const { report: r, picture, warnings } = await observedDeploy(to, { progress: new Progress((l) => log(l)), ...o.deploy, version: p.version, digest: p.digest, runId: run, signal: o.signal, pictureName: `deploy-${to.envName}.html` });
  steps.push(deployStep(to.envName, r, picture, warnings));
  // The bytes that reached `to` are the ones `from` passed (the hosts resolved the same digest).
  if (r.ok && digestOf(r.image) !== p.digest) throw new Error(`${to.envName} resolved ${r.image}, not ${p.digest}`);
  if (r.ok) {
    const after = await afterDeploy(to, { ...o, runId: run });
    steps.push(...after);
    for (const w of await notifySteps(to, run, p.version, after)) log(`! ${w}`);
  }
  return finish(run, command, t0, steps, { version: p.version, digest: p.digest });
}

export interface ReleaseOptions extends FlowOptions {
  /** An already-published tag (the pipeline's publish step gives it otherwise). */
  version: string;
}

/**
 * `pier release`: `version` to staging, staging's checks, then `promote` to production. A
 * failing check stops the release before production is touched.
 */
export async function release(staging: DeployTarget, production: DeployTarget, o: ReleaseOptions, steps: ReleaseStep[] = []): Promise<ReleaseReport> {
  const t0 = Date.now();
  const run = o.runId ?? newRunId();
  const log = logOf(o);
  const command = `release ${staging.envName} -> ${production.envName}`;
  log(`release ${o.version}: ${staging.envName} (${staging.hosts.length} hosts) then ${production.envName} (${production.hosts.length} hosts), run ${run}`);
  const { report: d, picture, warnings } = await observedDeploy(staging, { progress: new Progress((l) => log(l)), ...o.deploy, version: o.version, runId: run, signal: o.signal, pictureName: `deploy-${staging.envName}.html` });
  steps.push(deployStep(staging.envName, d, picture, warnings));
  const digest = digestOf(d.image);
  if (!d.ok) return finish(run, command, t0, steps, { version: o.version, digest, error: `deploy to ${staging.envName} failed: ${redact(d.error ?? '')}` });
  const checks = await runEnvChecks(staging, 'checks', { log, signal: o.signal, runId: run });
  steps.push(checksStep('checks', staging.envName, checks));
  if (!checks.ok) {
    steps.push({ name: 'promote', env: production.envName, status: 'skipped', seconds: 0, summary: `${staging.envName} checks failed: ${production.envName} not touched` });
    return finish(run, command, t0, steps, { version: o.version, digest, error: `${staging.envName} checks failed for ${o.version} (${digest ?? d.image}); ${production.envName} was not touched` });
  }
  return promote(staging, production, { ...o, runId: run }, steps, command, t0);
}
