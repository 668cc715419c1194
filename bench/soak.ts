/**
 * Soak benchmark: a long run of deploys and rollbacks on the 3-host simulated fleet with steady
 * traffic through the front load balancer, and what it leaves on the hosts' disks.
 *   - SOAK_CYCLES (default 50) cycles of: deploy a new release (its own image: one small layer on
 *     the test app), then `pier rollback` to the one before: 2 x cycles commands in a row
 *   - steady load at SOAK_RPS (default 40) through the load balancer the whole time: requests and
 *     failed requests (goal 0)
 *   - on every host, sampled every SOAK_SAMPLE cycles and at the end: bytes under pier's directory
 *     and Docker's data root, images, containers, env files, log bytes (the proxy's access/error
 *     logs with their rotated files plus the containers' json logs)
 *   - disk growth per 100 deploys from the sample taken once the retained releases have filled
 *     (after keepReleases + 1 cycles) to the end (goal < 50 MB); images on a host at most the
 *     retained releases plus the proxy (`images_bound`)
 * The proxy logs rotate small here (proxy.logs maxSize 256k, 3 files, looked at every 5 s) so
 * rotations happen during the run and their bound shows in `log_bytes_max`.
 * Prints one JSON line last: {"bench":"soak","deploys":..,"rollbacks":..,"failed_requests":..,"requests":..,
 * "disk_growth_mb_per_100_deploys":..,"images_on_host":..,"log_bytes_max":..,"seconds":..,...}
 * Everything it starts is labelled with its run and removed on exit (and on SIGINT/SIGTERM).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy } from '../src/deploy/deploy.ts';
import { Progress } from '../src/deploy/progress.ts';
import { rollback } from '../src/deploy/rollback.ts';
import { exec } from '../src/util/exec.ts';
import { buildTestApp, deployTarget, startFleet, writeProject, type Fleet } from '../test/helpers/fleet.ts';
import { startLoad, type LoadResult } from '../test/helpers/load.ts';

const CYCLES = Number(process.env.SOAK_CYCLES ?? 50);
const RATE = Number(process.env.SOAK_RPS ?? 40);
const SAMPLE_EVERY = Number(process.env.SOAK_SAMPLE ?? 5);
const KEEP = 3; // deploy.keepReleases (the default)
const log = (s: string) => process.stderr.write(`[bench:soak] ${s}\n`);
const quiet = () => new Progress(() => undefined);

/** One host's disk as the soak watches it (bytes, counts). */
interface HostSample {
  host: string;
  pierBytes: number;
  dockerBytes: number;
  images: number;
  containers: number;
  envFiles: number;
  logBytes: number;
}

/** One round trip per host: du of pier's dir and Docker's data root, images, containers, env files, log bytes. */
const SAMPLE_SCRIPT = [
  'p=$(du -sbx /var/lib/pier 2>/dev/null | cut -f1); d=$(du -sbx /var/lib/docker 2>/dev/null | cut -f1)',
  'i=$(docker images -q | sort -u | wc -l); c=$(docker ps -aq | wc -l)',
  'e=$(find /var/lib/pier -name "*.env" -type f 2>/dev/null | wc -l)',
  'l=$(cat /var/lib/pier/logs/*.log* /var/lib/docker/containers/*/*-json.log* 2>/dev/null | wc -c)',
  'echo "${p:-0} ${d:-0} $i $c $e $l"',
].join('\n');

async function sample(fleet: Fleet): Promise<HostSample[]> {
  return Promise.all(
    fleet.hosts.map(async (h) => {
      const [pierBytes, dockerBytes, images, containers, envFiles, logBytes] = (await fleet.hostExec(h.name, ['sh', '-c', SAMPLE_SCRIPT])).trim().split(/\s+/).map(Number);
      return { host: h.name, pierBytes: pierBytes!, dockerBytes: dockerBytes!, images: images!, containers: containers!, envFiles: envFiles!, logBytes: logBytes! };
    }),
  );
}

/** A release image of its own: the test app plus one small layer naming it (a new digest each time, as a real release). */
async function releaseImage(fleet: Fleet, ctx: string, version: string): Promise<void> {
  writeFileSync(join(ctx, 'release.txt'), `${version} ${Date.now()}\n`);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM pier-test/deploy-app:good\nCOPY release.txt /release.txt\n');
  const local = `pier-test/soak-app:${version}`;
  await exec(['docker', 'build', '--quiet', '--label', `pier.run=${fleet.runId}`, '-t', local, ctx], { timeoutMs: 120_000 });
  await fleet.push(local, `pier-test/deploy-app:${version}`);
  await exec(['docker', 'rmi', local], { timeoutMs: 60_000 }).catch(() => undefined);
}

const totals = { requests: 0, failed: 0, failures: [] as string[] };
const add = (l: LoadResult) => {
  totals.requests += l.sent;
  totals.failed += l.failed;
  totals.failures.push(...l.failures.slice(0, 3));
};

let fleet: Fleet | undefined;
const ctx = mkdtempSync(join(tmpdir(), 'pier-soak-'));
let stopping = false;
const onSignal = (sig: string) => {
  if (stopping) process.exit(130);
  stopping = true;
  log(`${sig}: tearing down`);
  void (fleet?.down() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

try {
  const t0 = Date.now();
  [fleet] = await Promise.all([startFleet({ count: 3, log }), buildTestApp('pier-test/deploy-app:good')]);
  log(`fleet up in ${((Date.now() - t0) / 1000).toFixed(1)}s; ${CYCLES} cycles at ${RATE} req/s`);
  const config = writeProject(fleet, {
    bakeSeconds: 1,
    drainSeconds: 0.5,
    environment: { proxy: { logs: { maxSize: '256k', maxFiles: 3, checkSeconds: 5 } } },
  });
  const target = deployTarget(config, 'bench');

  await releaseImage(fleet, ctx, 'r0');
  const first = await deploy(target, { version: 'r0', progress: quiet() });
  if (!first.ok) throw new Error(`initial deploy failed: ${first.error}`);

  const start = Date.now();
  const samples: { cycle: number; hosts: HostSample[] }[] = [];
  let deploys = 0;
  let rollbacks = 0;
  let base: { cycle: number; hosts: HostSample[] } | undefined;
  for (let i = 1; i <= CYCLES && !stopping; i++) {
    const v = `r${i}`;
    await releaseImage(fleet, ctx, v);
    const load = startLoad(fleet.lbPort, RATE, { maxSeconds: 300 });
    const d = await deploy(target, { version: v, progress: quiet() });
    if (!d.ok) throw new Error(`deploy ${v} failed: ${d.error}`);
    deploys++;
    const rb = await rollback(target, { progress: quiet() });
    if (!rb.ok) throw new Error(`rollback from ${v} failed: ${JSON.stringify(rb.hosts)}`);
    rollbacks++;
    const l = await load.stop();
    add(l);
    log(`cycle ${i}: deploy ${v} ${d.seconds.toFixed(1)}s, rollback ${rb.seconds.toFixed(1)}s; ${l.sent} requests, ${l.failed} failed${l.failed ? ` ${JSON.stringify(l.failures.slice(0, 2))}` : ''}`);
    if (i % SAMPLE_EVERY === 0 || i === KEEP + 1 || i === CYCLES) {
      const s = { cycle: i, hosts: await sample(fleet) };
      samples.push(s);
      if (i === KEEP + 1) base = s;
      log(`  sample: ${s.hosts.map((h) => `${h.host} pier ${(h.pierBytes / 1e6).toFixed(1)}MB docker ${(h.dockerBytes / 1e6).toFixed(1)}MB images ${h.images} containers ${h.containers} env ${h.envFiles} logs ${(h.logBytes / 1e3).toFixed(0)}kB`).join('; ')}`);
    }
  }
  const seconds = (Date.now() - start) / 1000;
  const end = samples.at(-1)!;
  base ??= samples[0]!;
  const used = (h: HostSample) => h.pierBytes + h.dockerBytes;
  // The largest growth of any host, per deploy since the base sample, scaled to 100 deploys.
  const growth = Math.max(...end.hosts.map((h, k) => used(h) - used(base!.hosts[k]!)));
  const deploysSince = end.cycle - base.cycle;
  const all = samples.flatMap((s) => s.hosts);
  const imagesMax = Math.max(...all.map((h) => h.images));
  console.log(
    JSON.stringify({
      bench: 'soak',
      hosts: fleet.hosts.length,
      deploys,
      rollbacks,
      requests: totals.requests,
      failed_requests: totals.failed,
      rate_rps: RATE,
      disk_growth_mb_per_100_deploys: deploysSince > 0 ? Number(((growth / 1e6 / deploysSince) * 100).toFixed(1)) : null,
      disk_used_mb_end: Number((Math.max(...end.hosts.map(used)) / 1e6).toFixed(1)),
      images_on_host: imagesMax,
      images_bound: KEEP + 1, // the retained releases and the proxy (sampled between cycles)
      images_on_host_end: Math.max(...end.hosts.map((h) => h.images)),
      containers_on_host: Math.max(...all.map((h) => h.containers)),
      env_files: Math.max(...all.map((h) => h.envFiles)),
      log_bytes_max: Math.max(...all.map((h) => h.logBytes)),
      seconds: Number(seconds.toFixed(1)),
      ...(totals.failures.length ? { failures_sample: totals.failures.slice(0, 5) } : {}),
    }),
  );
} finally {
  await fleet?.down();
  rmSync(ctx, { recursive: true, force: true });
}
