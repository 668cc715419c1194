// Benchmark of pier's database backups on a generated database of >= 1 million rows, in real
// containers (the example app's stack): a bare `pg_dump -Fc` of the database (the baseline, same
// run), then pier's backup (dump step = backup_s, its test restore = verify_s), then a restore
// while the example app serves GET /items at 200 requests/s: restore_s, the server-measured
// window without a usable database (swap_window_ms) and the failed requests. The app must answer
// again afterwards without a restart. Backups run as a superuser role that is not the app's.
// Traffic goes only to the port the app publishes on 127.0.0.1. Over SSH: not measured here.
// Run: npx tsx bench/db.ts [--rows 1000000] [--rps 200]
// The last line of output is one JSON object of figures.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backup, restore, type DbSettings } from '../src/db/backup.ts';
import * as sql from '../src/db/commands.ts';
import { localContainer } from '../src/db/runner.ts';
import { newRunId } from '../src/util/run-id.ts';
import { DATABASE_URL, ExampleStack, httpCall } from '../test/helpers/example-stack.ts';
import { poll } from '../src/util/poll.ts';
import { startLoad } from '../test/helpers/load.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, rps: { type: 'string', default: '200' } } });
const rows = Math.min(Math.max(Number(values.rows) || 1_000_000, 1000), 20_000_000);
const rps = Math.min(Math.max(Number(values.rps) || 200, 1), 1000);
const log = (l: string) => console.error(`  ${l}`);

/** `docker exec c argv` with stdout into a local file (the bare baseline streams the dump out). */
function execToFile(container: string, argv: string[], file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['exec', container, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.pipe(createWriteStream(file, { mode: 0o600 }));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} exited ${code}: ${err}`))));
  });
}

const seconds = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;
const runId = newRunId();
const stack = new ExampleStack(runId, 'db-bench');
const dir = mkdtempSync(join(tmpdir(), 'pier-db-bench-'));
try {
  log('building the example app and starting PostgreSQL + Redis');
  await stack.build('runtime');
  const { postgres } = await stack.startServices();
  const pg = postgres.id;
  const runner = localContainer(pg);
  // The app connects as `api` (owner of its database); backups run as another role.
  await runner.exec(sql.psql('api', 'api', 'CREATE ROLE pier_backup LOGIN SUPERUSER'));
  const migrated = await stack.runOnce({ Image: stack.tag, Cmd: ['node', 'src/migrate.js'], Env: [`DATABASE_URL=${DATABASE_URL}`] }, 120_000);
  if (migrated.code !== 0) throw new Error(`migrate exited ${migrated.code}: ${migrated.log}`);
  log(`generating ${rows} rows`);
  await runner.exec(sql.psql('api', 'api', `INSERT INTO items (name, quantity) SELECT 'item ' || g || ' ' || md5(g::text), g % 1000 FROM generate_series(1, ${rows}) g; ANALYZE items`), 900_000);
  const total = Number((await runner.exec(sql.psql('api', 'api', 'SELECT count(*) FROM items'))).trim());

  log('bare pg_dump -Fc (baseline)');
  let t0 = performance.now();
  await execToFile(pg, ['pg_dump', '--username', 'pier_backup', '--dbname', 'api', '--format', 'custom'], join(dir, 'bare.dump'));
  const pgDumpS = seconds(t0);
  const bareBytes = statSync(join(dir, 'bare.dump')).size;

  const s: DbSettings = { env: 'bench', database: 'api', user: 'pier_backup', dir: join(dir, 'backups'), keep: 3 };
  log('pier backup');
  const b = await backup(runner, s, { appVersion: 'bench', log });

  const { app, base } = await stack.startApp(['LOG_LEVEL=warn']);
  await poll('/health 200', async () => ((await httpCall(`${base}/health`, { timeoutMs: 2000 })).status === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 100 });
  const startedAt = (await app.inspect()).State.StartedAt;
  const port = Number(new URL(base).port);
  log(`restore under ${rps} req/s of GET /items?limit=10`);
  const load = startLoad(port, rps, { path: '/items?limit=10', maxSeconds: 900 });
  await new Promise((r) => setTimeout(r, 2000));
  t0 = performance.now();
  const r = await restore(runner, s, b.file, { log });
  const restoreS = seconds(t0);
  await new Promise((r2) => setTimeout(r2, 3000));
  const result = await load.stop();
  const after = await httpCall(`${base}/items?limit=10`, { timeoutMs: 5000 });
  const info = (await app.inspect()).State;
  if (after.status !== 200) throw new Error(`the app does not answer after the restore: HTTP ${after.status}`);
  if (info.StartedAt !== startedAt || info.Restarting) throw new Error('the app restarted during the restore');
  log(`load: ${result.sent} sent, ${result.ok} ok, ${result.failed} failed (${[...new Set(result.failures)].join('; ')})`);
  log(`dump ${b.meta.bytes} bytes (bare ${bareBytes}); safety dump ${r.safetyBackup}`);
  console.log(JSON.stringify({
    bench: 'db', rows: total, backup_s: b.dumpSeconds, pg_dump_s: pgDumpS, backup_vs_pg_dump: Math.round((b.dumpSeconds / pgDumpS) * 100) / 100,
    verify_s: b.verifySeconds, restore_s: restoreS, swap_window_ms: r.swapWindowMs, failed_requests: result.failed, requests: result.sent, ssh: 'not measured',
  }));
} finally {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
}
