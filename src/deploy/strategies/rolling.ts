/**
 * Rolling: the first host alone (a barrier: nothing else changes until it is healthy, serving
 * and baked), then the rest in batches of `deploy.batch`. Old releases keep running through the bake
 * window (instant switch-back), then are stopped and retained.
 */
import { mapLimit } from '../executor.ts';
import { bake, retire, startBeside, switchOver } from './steps.ts';
import type { HostPlan, RolloutContext, Strategy } from './types.ts';

/** Split hosts into the barrier host and batches of `size`. */
export function rollingBatches<T>(hosts: readonly T[], size: number): T[][] {
  if (hosts.length === 0) return [];
  const [first, ...rest] = hosts;
  const batches: T[][] = [[first!]];
  for (let i = 0; i < rest.length; i += size) batches.push(rest.slice(i, i + size));
  return batches;
}

async function allOrThrow<T>(results: PromiseSettledResult<T>[]): Promise<void> {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export const rolling: Strategy = {
  name: 'rolling',
  async rollout(ctx: RolloutContext): Promise<void> {
    for (const batch of rollingBatches(ctx.plans, ctx.target.settings.batch)) {
      await runBatch(ctx, batch);
    }
  },
};

async function runBatch(ctx: RolloutContext, batch: HostPlan[]): Promise<void> {
  const limit = ctx.target.parallel;
  await allOrThrow(await mapLimit(batch, limit, (p) => startBeside(ctx, p)));
  await allOrThrow(await mapLimit(batch, limit, (p) => switchOver(ctx, p)));
  const started = Date.now();
  // The window watches every host already on the new release, not just this batch: a release that
  // degrades over time is caught on the hosts switched earlier, and all of them are switched back.
  await bake(ctx, ctx.plans.filter((p) => p.switched));
  const waited = (Date.now() - started) / 1000;
  await allOrThrow(await mapLimit(batch, limit, (p) => retire(ctx, p, waited)));
}
