/**
 * Writes deploy.html beside a deploy's report.json: the timeline plus the traffic the hosts'
 * proxies logged during the deploy (read after it, bounded in time; without it the page says so).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { DeployReport } from '../deploy/deploy.ts';
import { withHosts } from '../deploy/fleet.ts';
import { webTarget } from '../deploy/target.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { runDirFor } from '../util/run-report.ts';
import { renderDeployTimeline, trafficPerSecond, type TrafficSecond } from './deploy-timeline.ts';

/** Access-log lines read per host: ~2.5 min at 200 req/s, a bounded read whatever the log's size. */
const TAIL_LINES = 30_000;
const TRAFFIC_TIMEOUT_MS = 5_000;

async function traffic(target: DeployTarget, startMs: number, seconds: number): Promise<TrafficSecond[]> {
  const entries = await withHosts(webTarget(target), async (ops) => (await Promise.all(ops.map((o) => o.readAccessLogTail(TAIL_LINES)))).flat());
  return trafficPerSecond(entries, startMs, seconds);
}

/** Writes `name` (deploy.html; a release names one per environment) in the run's directory; returns its path. */
export async function writeDeployTimeline(target: DeployTarget, runId: string, report: DeployReport, startMs: number, name = 'deploy.html'): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const seen = await Promise.race([
    traffic(target, startMs, report.seconds).catch((e: Error) => e),
    new Promise<Error>((resolve) => (timer = setTimeout(() => resolve(new Error(`no traffic figures within ${TRAFFIC_TIMEOUT_MS / 1000}s`)), TRAFFIC_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  const html = renderDeployTimeline({
    title: `pier deploy ${report.version} to ${report.env} (run ${runId})`,
    ok: report.ok,
    seconds: report.seconds,
    events: report.timeline,
    ...(seen instanceof Error ? { trafficNote: seen.message } : { traffic: seen }),
  });
  const file = join(runDirFor(target.root, runId), name);
  mkdirSync(dirname(file), { recursive: true }); // written before the run's report.json may be
  writeFileSync(file, html);
  return relative(process.cwd(), file) || file;
}
