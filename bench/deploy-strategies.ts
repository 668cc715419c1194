/**
 * Release-strategy figures for `npm run bench:deploy` (called by bench/deploy.ts on its fleet):
 *   - bluegreen_failed: failed requests during a blue/green deploy under fixed-rate load (goal 0)
 *   - bluegreen_rollback_s: `pier rollback` of 3 hosts within the blue/green window, from the command's start
 *     (connect, preflight, lock included) until every proxy serves the previous release again (goal <= 3)
 *   - bluegreen_rollback_total_s: the whole command, including draining and stopping the release left
 *   - canary_bad_rolled_back: a canary of a release failing 30 % of requests was rolled back automatically
 *   - canary_failed_share: failed / all requests during that canary (a full cutover fails 0.30; goal <= 0.05)
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deploy } from '../src/deploy/deploy.ts';
import { rollback } from '../src/deploy/rollback.ts';
import { status } from '../src/deploy/queries.ts';
import { Progress } from '../src/deploy/progress.ts';
import type { DeployTarget } from '../src/deploy/target.ts';
import { buildTestApp, deployTarget, writeProject, type Fleet } from '../test/helpers/fleet.ts';
import { startLoadThread } from '../test/helpers/load.ts';

export interface StrategyFigures {
  bluegreen_failed: number;
  bluegreen_rollback_s: number;
  bluegreen_rollback_total_s: number;
  canary_bad_rolled_back: boolean;
  canary_failed_share: number;
}

function target(fleet: Fleet, deploySettings: Record<string, unknown>): DeployTarget {
  return deployTarget(writeProject(fleet, { bakeSeconds: 2, drainSeconds: 0.5, deploy: deploySettings }), 'bench');
}

/** Run the strategy scenarios on `fleet` (which serves some release already). */
export async function strategyFigures(fleet: Fleet, rate: number, log: (s: string) => void): Promise<StrategyFigures> {
  const quiet = new Progress(() => undefined);
  await buildTestApp('pier-test/deploy-app:fails30', { failRate: 0.3 });
  await Promise.all([fleet.push('pier-test/deploy-app:good', 'pier-test/deploy-app:bg1'), fleet.push('pier-test/deploy-app:fails30', 'pier-test/deploy-app:cbad')]);

  const bg = target(fleet, { strategy: 'blue-green', blueGreen: { windowSeconds: 600 } });
  // The release to go back to is the one serving now (kept warm by the window). Named explicitly: the
  // bench's naive recreate left a newer, stopped container that `pier rollback` would pick by default.
  const before = (await status(bg))[0]!.serving!;
  let load = await startLoadThread(fleet.lbPort, rate, { maxSeconds: 120 });
  await sleep(1000);
  const d = await deploy(bg, { version: 'bg1', progress: quiet });
  await sleep(1000);
  const during = await load.stop();
  if (!d.ok) throw new Error(`blue/green deploy failed: ${d.error}`);
  log(`blue/green -> bg1: ${d.seconds.toFixed(1)}s, ${during.sent} requests, ${during.failed} failed ${JSON.stringify(during.failures.slice(0, 3))}`);
  const events = new Progress(() => undefined);
  const rb = await rollback(bg, { to: before, progress: events });
  if (!rb.ok) throw new Error(`blue/green rollback failed: ${JSON.stringify(rb.hosts)}`);
  const switchedS = Math.max(...events.events.filter((e) => e.phase === 'switched').map((e) => e.t));
  const perHost = rb.hosts.map((h) => {
    const at = (phase: string) => events.events.find((e) => e.host === h.host && e.phase === phase)?.t ?? NaN;
    return `${h.host} ${(at('switched') - at('rolling-back')).toFixed(2)}s`;
  });
  log(`blue/green rollback (previous release still running) on ${rb.hosts.length} hosts: all switched at ${switchedS.toFixed(2)}s (per host: ${perHost.join(', ')}), command ${rb.seconds.toFixed(2)}s`);

  const canary = target(fleet, { strategy: 'canary', canary: { steps: [10, 25, 50, 100], pauseSeconds: 5, minRequests: 10 } });
  load = await startLoadThread(fleet.lbPort, rate, { maxSeconds: 120 });
  await sleep(1000);
  const c = await deploy(canary, { version: 'cbad', progress: quiet });
  await sleep(1000);
  const cl = await load.stop();
  const analyses = (c.strategy?.canary as { analyses?: { verdict: string; percent: number }[] } | undefined)?.analyses ?? [];
  const rolledBack = !c.ok && analyses.at(-1)?.verdict === 'rollback' && c.hosts.every((h) => h.status === 'rolled-back');
  log(`canary of a 30 %-failing release: ${rolledBack ? `rolled back at ${analyses.at(-1)!.percent}%` : `NOT rolled back (${c.error ?? 'deployed'})`}, ${cl.failed}/${cl.sent} requests failed`);
  return {
    bluegreen_failed: during.failed,
    bluegreen_rollback_s: Number(switchedS.toFixed(2)),
    bluegreen_rollback_total_s: Number(rb.seconds.toFixed(2)),
    canary_bad_rolled_back: rolledBack,
    canary_failed_share: Number((cl.sent ? cl.failed / cl.sent : 0).toFixed(4)),
  };
}
