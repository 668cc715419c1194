/**
 * Blue/green: start the new release on every host and verify each (health check), then switch
 * every proxy together, watch the whole fleet for the bake window, and keep the previous release
 * running for `deploy.blueGreen.windowSeconds` so `pier rollback` within it is only a proxy switch.
 */
import { mapLimit } from '../executor.ts';
import { bake, retire, startBeside, switchOver } from './steps.ts';
import type { HostPlan, RolloutContext, Strategy } from './types.ts';

async function allOrThrow<T>(results: PromiseSettledResult<T>[]): Promise<void> {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Leave the previous release running for the window (a host-side timer stops it), prune older ones. */
async function keepWarm(ctx: RolloutContext, plan: HostPlan, windowSeconds: number): Promise<void> {
  const { ops } = plan;
  await ops.prune(ctx.target.settings.keepReleases, [plan.started!.container, ...(plan.previous ? [plan.previous.container] : [])], plan.containers);
  if (plan.previous && plan.previous.container !== plan.started?.container) {
    await ops.scheduleStop(plan.previous.container, windowSeconds);
    ctx.progress.step(ops.name, 'retiring', `${plan.previous.version} kept running ${windowSeconds}s for an instant rollback`);
  }
}

export const blueGreen: Strategy = {
  name: 'blue-green',
  async rollout(ctx: RolloutContext): Promise<void> {
    const all = ctx.plans.length;
    // Every host starts and verifies green before any proxy changes: a failure here moves no traffic.
    await allOrThrow(await mapLimit(ctx.plans, ctx.target.parallel, (p) => startBeside(ctx, p)));
    // All proxies together (not limited by ssh.parallel): the fleet serves one release at a time.
    await allOrThrow(await mapLimit(ctx.plans, all, (p) => switchOver(ctx, p)));
    await bake(ctx, ctx.plans);
    const windowSeconds = ctx.target.settings.blueGreen.windowSeconds;
    if (windowSeconds <= 0) {
      // No warm window asked for: the previous release stops once drained.
      await allOrThrow(await mapLimit(ctx.plans, all, (p) => retire(ctx, p, ctx.target.settings.bakeSeconds, 0)));
      return;
    }
    await allOrThrow(await mapLimit(ctx.plans, all, (p) => keepWarm(ctx, p, windowSeconds)));
  },
};
