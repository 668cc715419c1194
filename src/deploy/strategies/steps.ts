/** Per-host steps shared by strategies: start beside, switch, bake (observe.ts), retire. */
import type { HostPlan, RolloutContext } from './types.ts';
import { upstreamOf } from './types.ts';

/** Start the new release beside the old one and wait until it is healthy (removed again if not). */
export async function startBeside(ctx: RolloutContext, plan: HostPlan): Promise<void> {
  const { ops } = plan;
  ctx.signal.throwIfAborted();
  // The orchestrator fetched the image on every host before the first switch: this is memoised.
  const { release, envFile } = await ctx.prepare(plan);
  ctx.signal.throwIfAborted();
  ctx.progress.step(ops.name, 'starting', release.container);
  plan.started = await ops.start(release, envFile);
  try {
    await ops.waitHealthy(plan.started, ctx.target.settings.healthTimeoutSeconds, ctx.signal);
  } catch (err) {
    ctx.progress.step(ops.name, 'unhealthy');
    // Its last log lines are in the error; a failed release is not worth a retention slot.
    await ops.remove(release.container).catch(() => undefined);
    throw err;
  }
  ctx.progress.step(ops.name, 'healthy');
}

/** Point the host's proxy at the new release, smoke-test through the proxy, record the switch. */
export async function switchOver(ctx: RolloutContext, plan: HostPlan): Promise<void> {
  const { ops } = plan;
  ctx.signal.throwIfAborted();
  if (!plan.started) throw new Error(`${ops.name}: switch before start`);
  // From here on the host counts as switched: a failure below must switch it back.
  plan.switched = true;
  const now = new Date().toISOString();
  const current = { version: plan.started.version, image: plan.started.image, container: plan.started.container, since: now, by: ctx.target.by, run: ctx.runId };
  // Proxy, smoke test through it and records in one host step (commands/switch.ts).
  const r = await ops.switchTo(plan.started, { current, record: { ...current, event: 'deployed', ...(plan.previous ? { from: plan.previous.version } : {}) } });
  if (r.outcome !== 'switched') throw new Error(`${ops.name}: switch reported ${r.outcome}`);
  plan.logOffset = r.cursor;
  ctx.progress.step(ops.name, 'switched');
}

// The bake window is observed by the analysis engine (observe.ts); re-exported for the strategies.
export { bake, BakeError, LOOK_INTERVAL_MS } from './observe.ts';

/**
 * Retire the old release (kept for rollback) and prune older ones. The old release keeps running,
 * without traffic, for the rollback window (at least the rest of its drain: `keepSeconds`, default
 * `deploy.rollbackWindowSeconds`), so `pier rollback` within it is a proxy switch; then a host-side
 * timer stops it (commands/retire.ts: it also waits until this deploy lets go of the lock, and
 * skips a release that serves again). The deploy does not wait for the drain or the stop.
 */
export async function retire(ctx: RolloutContext, plan: HostPlan, alreadyWaitedS: number, keepSeconds = ctx.target.settings.rollbackWindowSeconds): Promise<void> {
  const { ops } = plan;
  const drain = Math.max(0, ctx.target.settings.drainSeconds - alreadyWaitedS);
  const stopAfter = Math.max(drain, keepSeconds);
  const leaving = plan.previous && plan.previous.container !== plan.started?.container ? plan.previous : undefined;
  // Pruning never touches the two protected containers, so it runs beside the scheduling.
  await Promise.all([
    leaving ? ops.scheduleStop(leaving.container, stopAfter) : undefined,
    ops.prune(ctx.target.settings.keepReleases, [plan.started!.container, ...(plan.previous ? [plan.previous.container] : [])], plan.containers),
  ]);
  ctx.progress.step(ops.name, 'retiring', leaving ? `${leaving.version} ${stopAfter > drain ? `kept running ${Math.round(stopAfter)}s for an instant rollback, then stopped host-side` : `stops host-side after ${Math.round(drain)}s of drain`}` : undefined);
}
