/**
 * Start or stop a simulated production fleet by hand:
 *   npx tsx scripts/test-hosts.ts up [--hosts N]   # prints SSH ports, LB port, project dir; Ctrl-C tears down
 *   npx tsx scripts/test-hosts.ts down [RUN_ID]     # removes a fleet left behind (default: the last one)
 * `up` stays in the foreground: its labels name its pid, so `pier reap` treats the fleet as live
 * only while it runs. The state of the last fleet is kept in .pier/test-hosts.json.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestApp, downByRunId, startFleet, writeProject } from '../test/helpers/fleet.ts';
import { repoRoot } from '../test/helpers/paths.ts';

const stateFile = join(repoRoot, '.pier', 'test-hosts.json');
const [cmd, ...rest] = process.argv.slice(2);

if (cmd === 'up') {
  const n = rest[0] === '--hosts' ? Number(rest[1]) : 3;
  const fleet = await startFleet({ count: n, log: (s) => console.error(`  ${s}`) });
  await buildTestApp('pier-test/deploy-app:good');
  for (const v of ['v1', 'v2']) await fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${v}`);
  const config = writeProject(fleet);
  mkdirSync(join(repoRoot, '.pier'), { recursive: true });
  const state = { runId: fleet.runId, dir: fleet.dir, lb: `http://127.0.0.1:${fleet.lbPort}`, registry: `127.0.0.1:${fleet.registryPort}`, config, hosts: fleet.hosts };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.log(JSON.stringify(state, null, 2));
  console.error(`\nTry: ./bin/pier.js deploy production --version v1 --config ${config}\nThen: curl ${state.lb}/version\nCtrl-C (or SIGTERM) tears the fleet down.`);
  // Signal listeners alone do not keep Node alive: hold the event loop open until told to stop.
  const keepAlive = setInterval(() => undefined, 60_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  console.error('tearing down...');
  await fleet.down();
} else if (cmd === 'down') {
  const runId = rest[0] ?? (existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { runId: string }).runId : undefined);
  if (!runId) {
    console.error('no fleet recorded in .pier/test-hosts.json; pass its run id');
    process.exit(2);
  }
  await downByRunId(runId);
  console.error(`removed fleet ${runId}`);
} else {
  console.error('usage: npx tsx scripts/test-hosts.ts up [--hosts N] | down [RUN_ID]');
  process.exit(2);
}
