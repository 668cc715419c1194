/**
 * Canary: the new release starts beside the old one on every host, then each host's proxy sends
 * it a growing share of traffic (`deploy.canary.steps`, weighted nginx upstreams). During each
 * step's pause the access logs are analysed by the analysis engine (observe.ts: error rate and p95
 * of new vs old, fleet-wide and per host); a failed metric rolls the whole fleet back at once (the orchestrator switches every host
 * back). The analysis is printed at each step and kept in the run's report.
 */
import { GateError } from '../../util/errors.ts';
import { formatAnalysis, stepWeights, type CanaryAnalysis } from '../canary-analysis.ts';
import { mapLimit } from '../executor.ts';
import type { StartedRelease } from '../host-ops.ts';
import { blueGreen } from './blue-green.ts';
import { observeCanaryStep } from './observe.ts';
import { retire, startBeside, switchOver } from './steps.ts';
import type { HostPlan, RolloutContext, Strategy } from './types.ts';
import { upstreamOf } from './types.ts';

/** The canary analysis crossed a threshold (or could not judge a step, with inconclusive: abort). */
export class CanaryError extends GateError {
  constructor(readonly analysis: CanaryAnalysis) {
    super(`canary rolled back at step ${analysis.step} (${analysis.percent}%): ${analysis.verdict === 'inconclusive' ? 'inconclusive (deploy.canary.inconclusive: abort): ' : ''}${analysis.reasons.join('; ')}`);
  }
}

/** A step that rolls back: a failed metric, or (`deploy.canary.inconclusive: abort`) one that could not be judged. */
export function stopsRollout(a: Pick<CanaryAnalysis, 'verdict'>, inconclusive: 'continue' | 'abort' = 'continue'): boolean {
  return a.verdict === 'rollback' || (a.verdict === 'inconclusive' && inconclusive === 'abort');
}

async function allOrThrow<T>(results: PromiseSettledResult<T>[]): Promise<void> {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Put `percent` % of a host's traffic on the new release (weighted upstreams, graceful reload). */
async function weigh(ctx: RolloutContext, plan: HostPlan, old: StartedRelease, percent: number): Promise<void> {
  const w = stepWeights(percent);
  plan.switched = true; // from here a failure must switch the host back
  plan.logOffset = await plan.ops.switchProxy([upstreamOf(old, ctx.target.appPort, w.old), upstreamOf(plan.started!, ctx.target.appPort, w.new)]);
  await plan.ops.smoke();
  ctx.progress.step(plan.ops.name, 'canary', `${percent}% on ${ctx.version}`);
}

export const canary: Strategy = {
  name: 'canary',
  async rollout(ctx: RolloutContext): Promise<void> {
    const baseline = ctx.plans[0]?.previous?.version;
    if (!baseline || ctx.plans.some((p) => !p.previous || p.previous.version !== baseline)) {
      // Nothing (or not one release) to compare with: the first deploy goes blue/green.
      for (const p of ctx.plans) ctx.progress.step(p.ops.name, 'canary', 'no common previous release to compare with: switching blue/green');
      return blueGreen.rollout(ctx);
    }
    const analyses: CanaryAnalysis[] = [];
    const findings = ctx.findings ?? {};
    findings.canary = { baseline, steps: ctx.target.settings.canary.steps, analyses };
    const all = ctx.plans.length;
    await allOrThrow(await mapLimit(ctx.plans, ctx.target.parallel, (p) => startBeside(ctx, p)));
    const olds = await Promise.all(ctx.plans.map((p) => p.ops.restart(p.previous!)));
    const steps = ctx.target.settings.canary.steps;
    for (const [i, percent] of steps.entries()) {
      if (percent < 100) await allOrThrow(await mapLimit(ctx.plans, all, (p, j) => weigh(ctx, p, olds[j]!, percent)));
      else await allOrThrow(await mapLimit(ctx.plans, all, (p) => switchOver(ctx, p)));
      const a = await observeCanaryStep(ctx, i + 1, percent, baseline);
      analyses.push(a);
      const lines = formatAnalysis(a, ctx.version, baseline);
      ctx.progress.step('fleet', 'analysis', lines.join('\n'));
      if (stopsRollout(a, ctx.target.settings.canary.inconclusive)) throw new CanaryError(a);
    }
    // Fully on the new release and judged at 100 % (that step's pause is the bake): retire the old one.
    await allOrThrow(await mapLimit(ctx.plans, all, (p) => retire(ctx, p, ctx.target.settings.canary.pauseSeconds)));
  },
};
