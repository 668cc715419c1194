/**
 * Deploy benchmark on 3 simulated hosts, traffic through the front load balancer at a fixed rate
 * (BENCH_RPS, default 200; open loop, so a stall shows as latency or failures).
 *   - rolling deploy of a new release: requests sent, rate offered (`rate_rps`), failed (goal 0),
 *     response-time p99 over the whole deploy (`p99_ms`), deploy seconds
 *   - baseline: naive stop-and-recreate of the same release on the same hosts, same load
 *   - `rollback_s`: `pier rollback` of all 3 hosts right after a rolling deploy (the previous
 *     release inside its rollback window), from the command's start (connect, lock included) to its
 *     end: the median of BENCH_SAMPLES (default 3) deploy+rollback pairs, each under the same load
 *     (goal <= 2); their requests give `pairs_failed` (goal 0) and more p99 samples
 *     (`p99_ms_median` over the first deploy and the pairs: goal < 50)
 *   - `deploy_1host_s`: a deploy to one host, bake window excluded, from the run's own timeline:
 *     the median of BENCH_SAMPLES deploys (goal <= 2.5); the per-step split goes to stderr
 * Single runs on these shared 2-core machines vary by 2x, so the goals are judged on medians; every
 * sample is printed too (`*_samples`).
 * The load runs on its own thread (startLoadThread): the deploy's JavaScript in this process (SSH
 * crypto, JSON) must not show up as the response time a client of the app sees.
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
import { startLoadThread } from '../test/helpers/load.ts';
import { strategyFigures } from './deploy-strategies.ts';

const RATE = Number(process.env.BENCH_RPS ?? 200);
const SAMPLES = Math.max(1, Math.min(9, Number(process.env.BENCH_SAMPLES ?? 3)));
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

/** The median of `values` (the mean of the middle two for an even count). Pure. */
function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round2 = (n: number) => Number(n.toFixed(2));

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

  let load = await startLoadThread(fleet.lbPort, RATE, { maxSeconds: 120 });
  await sleep(1000);
  const rolling = await deploy(target, { version: 'v2', progress: quiet() });
  await sleep(1000);
  const during = await load.stop();
  if (!rolling.ok) throw new Error(`rolling deploy failed: ${rolling.error}`);
  log(`rolling v1 -> v2: ${rolling.seconds.toFixed(1)}s, ${during.sent} requests at ${during.rateRps}/s, ${during.failed} failed ${JSON.stringify(during.failures.slice(0, 3))}, p50 ${during.p50Ms} ms, p99 ${during.p99Ms} ms, max ${during.maxMs} ms`);
  for (const h of fleet.hosts) log(`  ${h.name}: ${steps(rolling.timeline, h.name, rolling.seconds)}`);

  load = await startLoadThread(fleet.lbPort, RATE, { maxSeconds: 120 });
  await sleep(1000);
  const nb = Date.now();
  await naiveRecreate(target, 'v2');
  const naiveS = (Date.now() - nb) / 1000;
  await sleep(3000);
  const baseline = await load.stop();
  log(`naive stop-and-recreate of v2: ${naiveS.toFixed(1)}s, ${baseline.sent} requests, ${baseline.failed} failed ${JSON.stringify(baseline.failures.slice(0, 3))}`);

  // The bench's naive recreate left v2 in a container pier did not start: the first rollback is named.
  const rb = await rollback(target, { to: 'v1', progress: quiet() });
  if (!rb.ok) throw new Error(`rollback failed: ${JSON.stringify(rb.hosts)}`);
  log(`rollback v2 (naive recreate) -> v1 on 3 hosts: ${rb.seconds.toFixed(2)}s`);
  // Then the case the goal names: a rolling deploy, then `pier rollback` to what served before it
  // (v1 every time: a release rolled back as bad is never a target).
  // Each pair runs under the same load as the first rolling deploy: its p99 and failures are
  // further samples of the deploy's effect on clients (a single run's p99 varies 2x here).
  const rollbacks: { seconds: number; switched: number }[] = [];
  const underLoad: { p99: number; failed: number; sent: number }[] = [];
  for (let i = 1; i <= SAMPLES; i++) {
    await fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:r${i}`);
    const pairLoad = await startLoadThread(fleet.lbPort, RATE, { maxSeconds: 120 });
    await sleep(500);
    const d = await deploy(target, { version: `r${i}`, progress: quiet() });
    if (!d.ok) throw new Error(`deploy r${i} failed: ${d.error}`);
    const back = await rollback(target, { progress: quiet() });
    await sleep(500);
    const seen = await pairLoad.stop();
    if (!back.ok || back.version !== 'v1') throw new Error(`rollback after r${i} went to ${back.version}: ${JSON.stringify(back.hosts)}`);
    rollbacks.push({ seconds: back.seconds, switched: back.switchedSeconds });
    underLoad.push({ p99: seen.p99Ms, failed: seen.failed, sent: seen.sent });
    log(`deploy r${i} (${d.seconds.toFixed(1)}s) then rollback -> ${back.version} on 3 hosts: ${back.seconds.toFixed(2)}s (all switched at ${back.switchedSeconds.toFixed(2)}s); ${seen.sent} requests at ${seen.rateRps}/s, ${seen.failed} failed, p99 ${seen.p99Ms} ms`);
  }
  const strategies = await strategyFigures(fleet, RATE, log); // blue/green and canary (bench/deploy-strategies.ts)

  // One host, same app and host type: what a single-service update costs (image layers already there,
  // as for a rebuilt service), measured from the deploy's own timeline without its bake window.
  const oneHost: DeployTarget = { ...target, hosts: target.hosts.slice(0, 1) };
  const oneHostS: number[] = [];
  for (let i = 1; i <= SAMPLES; i++) {
    await fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:one${i}`);
    const one = await deploy(oneHost, { version: `one${i}`, progress: quiet() });
    if (!one.ok) throw new Error(`1-host deploy failed: ${one.error}`);
    oneHostS.push(withoutBake(one.seconds, one.timeline, oneHost.hosts[0]!.name));
    log(`1 host: ${one.seconds.toFixed(2)}s, ${oneHostS.at(-1)!.toFixed(2)}s without the bake; ${steps(one.timeline, oneHost.hosts[0]!.name, one.seconds)}`);
  }

  console.log(
    JSON.stringify({
      bench: 'deploy',
      hosts: fleet.hosts.length,
      rate_rps: during.rateRps,
      requests: during.sent,
      failed: during.failed,
      p50_ms: during.p50Ms,
      p99_ms: during.p99Ms,
      // Over the first rolling deploy and each deploy+rollback pair: the goal is judged on the median.
      p99_ms_median: Number(median([during.p99Ms, ...underLoad.map((u) => u.p99)]).toFixed(1)),
      p99_ms_samples: [during.p99Ms, ...underLoad.map((u) => u.p99)],
      pairs_requests: underLoad.reduce((n, u) => n + u.sent, 0),
      pairs_failed: underLoad.reduce((n, u) => n + u.failed, 0),
      max_ms: during.maxMs,
      baseline_requests: baseline.sent,
      baseline_failed: baseline.failed,
      deploy_s: Number(rolling.seconds.toFixed(2)),
      rollback_s: round2(median(rollbacks.map((r) => r.seconds))),
      rollback_switched_s: round2(median(rollbacks.map((r) => r.switched))),
      rollback_s_samples: rollbacks.map((r) => round2(r.seconds)),
      first_deploy_s: Number(first.seconds.toFixed(2)),
      deploy_1host_s: round2(median(oneHostS)),
      deploy_1host_s_samples: oneHostS.map(round2),
      ...strategies,
    }),
  );
} finally {
  await fleet?.down();
}
