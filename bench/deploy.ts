/**
 * Deploy benchmark on 3 simulated hosts, traffic through the front load balancer at a fixed rate
 * (BENCH_RPS, default 200; open loop, so a stall shows as latency or failures).
 *   - rolling deploy of a new release: requests sent, rate offered (`rate_rps`), failed (goal 0),
 *     response-time p99 over the whole deploy (`p99_ms`, goal < 50), deploy seconds
 *   - baseline: naive stop-and-recreate of the same release on the same hosts, same load
 *   - rollback of all 3 hosts to a retained release: seconds (goal <= 2)
 *   - `deploy_1host_s`: a deploy to one host, bake window excluded, from the run's own timeline
 *     (goal <= 2.5); the per-step split goes to stderr
 * Prints one JSON line last: {"bench":"deploy","hosts":3,"rate_rps":..,"requests":..,"failed":..,"p99_ms":..,"deploy_s":..,"rollback_s":..,"deploy_1host_s":..}
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { deploy } from '../src/deploy/deploy.ts';
import { openHost } from '../src/deploy/executor.ts';
import { HostOps } from '../src/deploy/host-ops.ts';
import { rollback } from '../src/deploy/rollback.ts';
import { Progress, type ProgressEvent } from '../src/deploy/progress.ts';
import { upstreamOf } from '../src/deploy/strategies/types.ts';
import type { DeployTarget } from '../src/deploy/target.ts';
import { newRunId } from '../src/util/run-id.ts';
import { buildTestApp, deployTarget, startFleet, writeProject, type Fleet } from '../test/helpers/fleet.ts';
import { startLoad } from '../test/helpers/load.ts';
import { strategyFigures } from './deploy-strategies.ts';

const RATE = Number(process.env.BENCH_RPS ?? 200);
const log = (s: string) => process.stderr.write(`[bench:deploy] ${s}\n`);
// A fresh Progress per command: its timeline (times since its creation) then describes that command alone.
const quiet = () => new Progress(() => undefined);

/** Naive deploy: on every host at once, stop and remove the serving container, start the same release again, repoint the proxy. */
async function naiveRecreate(t: DeployTarget, version: string): Promise<void> {
  const runId = newRunId();
  await Promise.all(
    t.hosts.map(async (h) => {
      const session = await openHost(h, t.auth);
      try {
        const ops = new HostOps(session, t, runId);
        const cur = (await ops.readCurrent())!;
        await ops.stop(cur.container, 10);
        await ops.remove(cur.container);
        // A deploy leaves no env file on the host (issue 14): the naive baseline uploads its own.
        const started = await ops.start(ops.release(version, cur.image), await ops.uploadEnv(t.envFileContent ?? ''));
        await ops.switchProxy([upstreamOf(started, t.appPort)]);
        // Each start has its own container name: keep current.json true for the steps after.
        await ops.setCurrent({ ...cur, container: started.container });
      } finally {
        session.close();
      }
    }),
  );
}

/** Seconds of a deploy without its bake window (`baking` -> `baked` of `host` in the timeline). */
function withoutBake(seconds: number, timeline: readonly ProgressEvent[], host: string): number {
  const at = (phase: string) => timeline.find((e) => e.host === host && e.phase === phase)?.t;
  const baking = at('baking');
  const baked = at('baked');
  if (baking === undefined || baked === undefined) throw new Error(`no bake window for ${host} in the timeline`);
  return seconds - (baked - baking);
}

/** `phase +seconds` for each step of `host`: where a deploy's time goes. */
function steps(timeline: readonly ProgressEvent[], host: string, end: number): string {
  const own = timeline.filter((e) => e.host === host);
  return own.map((e, i) => `${e.phase} ${((own[i + 1]?.t ?? end) - e.t).toFixed(2)}s`).join(', ');
}

let fleet: Fleet | undefined;
try {
  const t0 = Date.now();
  [fleet] = await Promise.all([startFleet({ count: 3, log }), buildTestApp('pier-test/deploy-app:good')]);
  for (const v of ['v1', 'v2']) await fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${v}`);
  log(`fleet up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const config = writeProject(fleet, { bakeSeconds: 2, drainSeconds: 1 });
  const target = deployTarget(config, 'bench');

  const first = await deploy(target, { version: 'v1', progress: quiet() });
  if (!first.ok) throw new Error(`initial deploy failed: ${first.error}`);
  log(`v1 (cold: image layers pulled) deployed in ${first.seconds.toFixed(1)}s`);

  let load = startLoad(fleet.lbPort, RATE, { maxSeconds: 120 });
  await sleep(1000);
  const rolling = await deploy(target, { version: 'v2', progress: quiet() });
  await sleep(1000);
  const during = await load.stop();
  if (!rolling.ok) throw new Error(`rolling deploy failed: ${rolling.error}`);
  log(`rolling v1 -> v2: ${rolling.seconds.toFixed(1)}s, ${during.sent} requests at ${during.rateRps}/s, ${during.failed} failed ${JSON.stringify(during.failures.slice(0, 3))}, p50 ${during.p50Ms} ms, p99 ${during.p99Ms} ms, max ${during.maxMs} ms`);
  for (const h of fleet.hosts) log(`  ${h.name}: ${steps(rolling.timeline, h.name, rolling.seconds)}`);

  load = startLoad(fleet.lbPort, RATE, { maxSeconds: 120 });
  await sleep(1000);
  const nb = Date.now();
  await naiveRecreate(target, 'v2');
  const naiveS = (Date.now() - nb) / 1000;
  await sleep(3000);
  const baseline = await load.stop();
  log(`naive stop-and-recreate of v2: ${naiveS.toFixed(1)}s, ${baseline.sent} requests, ${baseline.failed} failed ${JSON.stringify(baseline.failures.slice(0, 3))}`);

  const rb = await rollback(target, { to: 'v1', progress: quiet() });
  if (!rb.ok) throw new Error(`rollback failed: ${JSON.stringify(rb.hosts)}`);
  log(`rollback v2 -> v1 on 3 hosts: ${rb.seconds.toFixed(2)}s`);
  const strategies = await strategyFigures(fleet, RATE, log); // blue/green and canary (bench/deploy-strategies.ts)

  // One host, same app and host type: what a single-service update costs (image layers already there,
  // as for a rebuilt service), measured from the deploy's own timeline without its bake window.
  await fleet.push('pier-test/deploy-app:good', 'pier-test/deploy-app:one');
  const oneHost: DeployTarget = { ...target, hosts: target.hosts.slice(0, 1) };
  const one = await deploy(oneHost, { version: 'one', progress: quiet() });
  if (!one.ok) throw new Error(`1-host deploy failed: ${one.error}`);
  const oneS = withoutBake(one.seconds, one.timeline, oneHost.hosts[0]!.name);
  log(`1 host: ${one.seconds.toFixed(2)}s, ${oneS.toFixed(2)}s without the bake; ${steps(one.timeline, oneHost.hosts[0]!.name, one.seconds)}`);

  console.log(
    JSON.stringify({
      bench: 'deploy',
      hosts: fleet.hosts.length,
      rate_rps: during.rateRps,
      requests: during.sent,
      failed: during.failed,
      p50_ms: during.p50Ms,
      p99_ms: during.p99Ms,
      max_ms: during.maxMs,
      baseline_requests: baseline.sent,
      baseline_failed: baseline.failed,
      deploy_s: Number(rolling.seconds.toFixed(2)),
      rollback_s: Number(rb.seconds.toFixed(2)),
      rollback_switched_s: Number(rb.switchedSeconds.toFixed(2)),
      first_deploy_s: Number(first.seconds.toFixed(2)),
      deploy_1host_s: Number(oneS.toFixed(2)),
      ...strategies,
    }),
  );
} finally {
  await fleet?.down();
}
