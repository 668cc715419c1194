/**
 * Deploy benchmark on 3 simulated hosts, traffic through the front load balancer at a fixed rate.
 *   - rolling deploy of a new release: requests sent, failed (goal 0), deploy seconds (goal <= 60)
 *   - baseline: naive stop-and-recreate of the same release on the same hosts, same load
 *   - rollback of all 3 hosts to a retained release: seconds (goal <= 5)
 * Prints one JSON line last: {"bench":"deploy","hosts":3,"requests":..,"failed":..,"baseline_failed":..,"deploy_s":..,"rollback_s":..}
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/load.ts';
import { deploy } from '../src/deploy/deploy.ts';
import { openHost } from '../src/deploy/executor.ts';
import { HostOps } from '../src/deploy/host-ops.ts';
import { rollback } from '../src/deploy/rollback.ts';
import { Progress } from '../src/deploy/progress.ts';
import { upstreamOf } from '../src/deploy/strategies/types.ts';
import { resolveTarget, type DeployTarget } from '../src/deploy/target.ts';
import { newRunId } from '../src/util/run-id.ts';
import { buildTestApp, startFleet, writeProject, type Fleet } from '../test/helpers/fleet.ts';
import { startLoad } from '../test/helpers/load.ts';
import { strategyFigures } from './deploy-strategies.ts';

const RATE = Number(process.env.BENCH_RPS ?? 50);
const log = (s: string) => process.stderr.write(`[bench:deploy] ${s}\n`);
const quiet = new Progress(() => undefined);

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
        const started = await ops.start(ops.release(version, cur.image), ops.layout.envFile);
        await ops.switchProxy([upstreamOf(started, t.appPort)]);
        // Each start has its own container name: keep current.json true for the steps after.
        await ops.setCurrent({ ...cur, container: started.container });
      } finally {
        session.close();
      }
    }),
  );
}

let fleet: Fleet | undefined;
try {
  const t0 = Date.now();
  [fleet] = await Promise.all([startFleet({ count: 3, log }), buildTestApp('pier-test/deploy-app:good')]);
  for (const v of ['v1', 'v2']) await fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${v}`);
  log(`fleet up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const config = writeProject(fleet, { bakeSeconds: 2, drainSeconds: 1 });
  const target = resolveTarget(loadConfig({ configFile: config, env: 'production', vars: {} }), { by: 'bench' });

  const first = await deploy(target, { version: 'v1', progress: quiet });
  if (!first.ok) throw new Error(`initial deploy failed: ${first.error}`);
  log(`v1 (cold: image layers pulled) deployed in ${first.seconds.toFixed(1)}s`);

  let load = startLoad(fleet.lbPort, RATE, { maxSeconds: 120 });
  await sleep(1000);
  const rolling = await deploy(target, { version: 'v2', progress: quiet });
  await sleep(1000);
  const during = await load.stop();
  if (!rolling.ok) throw new Error(`rolling deploy failed: ${rolling.error}`);
  log(`rolling v1 -> v2: ${rolling.seconds.toFixed(1)}s, ${during.sent} requests, ${during.failed} failed ${JSON.stringify(during.failures.slice(0, 3))}`);

  load = startLoad(fleet.lbPort, RATE, { maxSeconds: 120 });
  await sleep(1000);
  const nb = Date.now();
  await naiveRecreate(target, 'v2');
  const naiveS = (Date.now() - nb) / 1000;
  await sleep(3000);
  const baseline = await load.stop();
  log(`naive stop-and-recreate of v2: ${naiveS.toFixed(1)}s, ${baseline.sent} requests, ${baseline.failed} failed ${JSON.stringify(baseline.failures.slice(0, 3))}`);

  const rb = await rollback(target, { to: 'v1', progress: quiet });
  if (!rb.ok) throw new Error(`rollback failed: ${JSON.stringify(rb.hosts)}`);
  log(`rollback v2 -> v1 on 3 hosts: ${rb.seconds.toFixed(2)}s`);
  const strategies = await strategyFigures(fleet, RATE, log); // blue/green and canary (bench/deploy-strategies.ts)

  console.log(
    JSON.stringify({
      bench: 'deploy',
      hosts: fleet.hosts.length,
      rate_rps: RATE,
      requests: during.sent,
      failed: during.failed,
      baseline_requests: baseline.sent,
      baseline_failed: baseline.failed,
      deploy_s: Number(rolling.seconds.toFixed(2)),
      rollback_s: Number(rb.seconds.toFixed(2)),
      rollback_switched_s: Number(rb.switchedSeconds.toFixed(2)),
      first_deploy_s: Number(first.seconds.toFixed(2)),
      ...strategies,
    }),
  );
} finally {
  await fleet?.down();
}
