// Benchmark of pier's database backups on a generated database of >= 1 million rows, in real
// containers (the example app's stack): a bare `pg_dump -Fc` of the database (the baseline, same
// run), then pier's backup (dump step = backup_s, its test restore = verify_s), then a restore
// while the example app serves GET /items at 200 requests/s: restore_s, the server-measured
// window without a usable database (swap_window_ms) and the failed requests. The app must answer
// again afterwards without a restart. Backups run as a superuser role that is not the app's.
// Then the same dump comparison with PostgreSQL in a container on a Docker-in-Docker host reached
// only over SSH: a bare `ssh host docker exec pg pg_dump -Fc > file` (OpenSSH) against pier's
// backup through its SSH runner (ssh_pg_dump_s, ssh_backup_s, ssh_backup_vs_pg_dump).
// The restore's baseline, same run and load: a naive restore (drop the live database, create it,
// pg_restore into it): naive_window_ms without a database, naive_failed_requests. Failures of
// pier's restore are logged per phase and per 100 ms around the swap.
// Traffic goes only to the ports the app and the fleet publish on 127.0.0.1.
// Run: npx tsx bench/db.ts [--rows 1000000] [--rps 200] [--no-ssh]
// The last line of output is one JSON object of figures.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backup, restore, type DbSettings } from '../src/db/backup.ts';
import * as sql from '../src/db/commands.ts';
import { localContainer, sshContainer } from '../src/db/runner.ts';
import { openHost } from '../src/deploy/executor.ts';
import { exec } from '../src/util/exec.ts';
import { poll, PollError } from '../src/util/poll.ts';
import { newRunId } from '../src/util/run-id.ts';
import { DATABASE_URL, ExampleStack, httpCall } from '../test/helpers/example-stack.ts';
import { images, startFleet } from '../test/helpers/fleet.ts';
import { startLoad } from '../test/helpers/load.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, rps: { type: 'string', default: '200' }, 'no-ssh': { type: 'boolean', default: false } } });
const rows = Math.min(Math.max(Number(values.rows) || 1_000_000, 1000), 20_000_000);
const rps = Math.min(Math.max(Number(values.rps) || 200, 1), 1000);
const log = (l: string) => console.error(`  ${l}`);

/** `argv` (docker exec, ssh) with stdout into a local file (the bare baselines stream the dump out). */
function runToFile(argv: string[], file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.pipe(createWriteStream(file, { mode: 0o600 }));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv[0]} exited ${code}: ${err}`))));
  });
}

/**
 * The stack's services; on a loaded machine PostgreSQL's first start can outlast the helper's
 * 60 s wait: then keep waiting (bounded) on the labelled containers it created.
 */
async function startServicesPatiently(): Promise<string> {
  try {
    return (await stack.startServices()).postgres.id;
  } catch (e) {
    if (!(e instanceof PollError)) throw e;
    log(`${e.message}; waiting longer`);
    const byRole = async (role: string) => (await exec(['docker', 'ps', '-q', '--filter', `label=pier.run=${runId}`, '--filter', `label=pier.role=${role}`])).stdout.trim();
    for (const role of ['postgres', 'redis']) {
      await poll(`${role} healthy`, async () => ((await exec(['docker', 'inspect', '--format', '{{.State.Health.Status}}', await byRole(role)])).stdout.trim() === 'healthy' ? true : undefined), { timeoutMs: 300_000, intervalMs: 1000 });
    }
    return byRole('postgres');
  }
}

const seconds = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

/**
 * The dump comparison over SSH: one Docker-in-Docker host of the test fleet runs PostgreSQL (the
 * stand-in image pushed through the fleet's registry) with `rows` generated rows. Baseline: OpenSSH
 * streaming a bare `pg_dump -Fc` into a local file; then pier's backup through sshContainer.
 */
async function overSsh(rows: number, dir: string): Promise<Record<string, number>> {
  log('over SSH: starting a one-host fleet');
  const fleet = await startFleet({ count: 1, log });
  try {
    const host = fleet.hosts[0]!;
    await fleet.push(images.postgres, 'pier-bench/postgres:15');
    await fleet.hostExec(host.name, ['docker', 'run', '--detach', '--name', 'pier-bench-pg', '--label', `pier.run=${fleet.runId}`, '--env', 'POSTGRES_USER=api', '--env', 'POSTGRES_PASSWORD=not-used-by-pier', '--env', 'POSTGRES_DB=api', 'reg:5000/pier-bench/postgres:15']);
    await poll('postgres on the host', () => fleet.hostExec(host.name, ['docker', 'exec', 'pier-bench-pg', 'pg_isready', '--host', '127.0.0.1', '--username', 'api']).then(() => true, () => undefined), { timeoutMs: 120_000, intervalMs: 500 });
    const psqlOnHost = (q: string) => fleet.hostExec(host.name, ['docker', 'exec', 'pier-bench-pg', 'psql', '--username', 'api', '--dbname', 'api', '--set', 'ON_ERROR_STOP=1', '-XAtqc', q]);
    await psqlOnHost('CREATE ROLE pier_backup LOGIN SUPERUSER');
    await psqlOnHost(`CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, quantity int NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`);
    log(`over SSH: generating ${rows} rows`);
    await psqlOnHost(`INSERT INTO items (name, quantity) SELECT 'item ' || g || ' ' || md5(g::text), g % 1000 FROM generate_series(1, ${rows}) g`);
    await psqlOnHost('VACUUM (ANALYZE) items');
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, (await exec(['ssh-keyscan', '-t', 'ed25519', '-p', String(host.sshPort), '127.0.0.1'])).stdout, { mode: 0o600 });
    const sshArgv = ['ssh', '-i', fleet.keyFile, '-p', String(host.sshPort), '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', 'root@127.0.0.1'];
    log('over SSH: bare pg_dump -Fc streamed through OpenSSH (baseline)');
    let t0 = performance.now();
    await runToFile([...sshArgv, 'docker exec pier-bench-pg pg_dump --username pier_backup --dbname api --format custom'], join(dir, 'ssh-bare.dump'));
    const sshPgDumpS = seconds(t0);
    const session = await openHost({ name: host.name, user: 'root', address: '127.0.0.1', port: host.sshPort, hostKey: host.fingerprint }, { privateKey: readFileSync(fleet.keyFile), connectTimeoutMs: 10_000, commandTimeoutMs: 600_000 });
    try {
      log('over SSH: pier backup');
      t0 = performance.now();
      const b = await backup(sshContainer(session, 'pier-bench-pg'), { env: 'bench-ssh', database: 'api', user: 'pier_backup', dir: join(dir, 'ssh-backups'), keep: 1 }, { appVersion: 'bench', log });
      log(`over SSH: dump ${b.meta.bytes} bytes (bare ${statSync(join(dir, 'ssh-bare.dump')).size}), backup with its test restore ${seconds(t0)} s`);
      return { ssh_pg_dump_s: sshPgDumpS, ssh_backup_s: Math.round(b.dumpSeconds * 100) / 100, ssh_backup_vs_pg_dump: Math.round((b.dumpSeconds / sshPgDumpS) * 100) / 100, ssh_verify_s: Math.round(b.verifySeconds * 100) / 100 };
    } finally {
      session.close();
    }
  } finally {
    await fleet.down();
  }
}
const runId = newRunId();
const stack = new ExampleStack(runId, 'db-bench');
const dir = mkdtempSync(join(tmpdir(), 'pier-db-bench-'));
try {
  log('building the example app and starting PostgreSQL + Redis');
  await stack.build('runtime');
  const pg = await startServicesPatiently();
  const runner = localContainer(pg);
  // The app connects as `api` (owner of its database); backups run as another role.
  await runner.exec(sql.psql('api', 'api', 'CREATE ROLE pier_backup LOGIN SUPERUSER'));
  const migrated = await stack.runOnce({ Image: stack.tag, Cmd: ['node', 'src/migrate.js'], Env: [`DATABASE_URL=${DATABASE_URL}`] }, 120_000);
  if (migrated.code !== 0) throw new Error(`migrate exited ${migrated.code}: ${migrated.log}`);
  log(`generating ${rows} rows`);
  await runner.exec(sql.psql('api', 'api', `INSERT INTO items (name, quantity) SELECT 'item ' || g || ' ' || md5(g::text), g % 1000 FROM generate_series(1, ${rows}) g`), 900_000);
  // Hint bits and statistics set now, so the first dump below (the baseline) does not pay for them.
  await runner.exec(sql.psql('api', 'api', 'VACUUM (ANALYZE) items'), 900_000);
  const total = Number((await runner.exec(sql.psql('api', 'api', 'SELECT count(*) FROM items'))).trim());

  log('bare pg_dump -Fc (baseline)');
  let t0 = performance.now();
  await runToFile(['docker', 'exec', pg, 'pg_dump', '--username', 'pier_backup', '--dbname', 'api', '--format', 'custom'], join(dir, 'bare.dump'));
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
  const load = startLoad(port, rps, { path: '/items?limit=10', maxSeconds: 900, spans: true });
  await new Promise((r) => setTimeout(r, 5000)); // baseline: the same load before the restore starts
  t0 = performance.now();
  const restoreStart = Date.now();
  const r = await restore(runner, s, b.file, { log });
  const restoreS = seconds(t0);
  await new Promise((r2) => setTimeout(r2, 3000));
  const result = await load.stop();
  // Failures of requests sent while the swap's round trip ran (its psql session starting included), or just before it (in flight).
  const failedAtSwap = result.failedSentAt.filter((t) => t >= r.swapAt.start - 1000 && t <= r.swapAt.end).length;
  const failedBaseline = result.failedSentAt.filter((t) => t < restoreStart).length;
  const failedBeforeSwap = result.failedSentAt.filter((t) => t >= restoreStart && t < r.swapAt.start - 1000).length;
  // What the goal allows besides the requests due inside the window: those in flight as the swap began.
  const inFlightAtSwap = (result.spans ?? []).filter(([a, b]) => a <= r.swapAt.start && b > r.swapAt.start).length;
  log(`failed requests by when they were sent: ${failedBaseline} in the 5 s before the restore, ${failedBeforeSwap} while it prepared (scratch restore, checks, safety dump), ${failedAtSwap} around the swap, ${result.failed - failedBaseline - failedBeforeSwap - failedAtSwap} after it`);
  for (const p of r.phases) log(`phase ${p.name}: ${((p.end - p.start) / 1000).toFixed(2)} s, ${result.failedSentAt.filter((t) => t >= p.start && t < p.end).length} failed requests sent during it`);
  // Around the swap, per 100 ms (sent time relative to the swap's start): which moments failed.
  const near = result.failedSentAt.map((t) => Math.floor((t - r.swapAt.start) / 100)).filter((b) => b >= -20 && b < 50);
  const hist = [...new Set(near)].sort((a, b) => a - b).map((b) => `${b * 100}ms:${near.filter((x) => x === b).length}`);
  log(`failures by sent time around the swap (start of 100 ms slot: count): ${hist.join(' ') || 'none'}`);
  log(`load: ${result.sent} sent, ${result.ok} ok, ${result.failed} failed, ${failedAtSwap} of them sent within 1 s before or during the swap (${[...new Set(result.failures)].join('; ')}); p50 ${Math.round(result.p50Ms)} ms, p99 ${Math.round(result.p99Ms)} ms`);
  // The app must serve again without a restart (bounded wait, measured from the end of the load).
  t0 = performance.now();
  const recovered = await poll('GET /items 200 after the restore', async () => ((await httpCall(`${base}/items?limit=10`, { timeoutMs: 2000 })).status === 200 ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 }).then(() => true, () => false);
  const recoveredS = seconds(t0);
  const info = (await app.inspect()).State;
  if (!recovered) {
    const logs = await exec(['docker', 'logs', '--tail', '20', app.id], { nothrow: true });
    log(`app log (tail):\n${logs.stdout}${logs.stderr}`);
    throw new Error('the app does not answer 200 within 30 s after the restore');
  }
  if (info.StartedAt !== startedAt || info.Restarting) throw new Error('the app restarted during the restore');
  if (result.failed) {
    // What the app said while requests failed (its own errors name the cause: connect timeouts, refused connections).
    const logs = await exec(['docker', 'logs', '--tail', '400', app.id], { nothrow: true });
    const said = [...new Set(`${logs.stdout}${logs.stderr}`.split('\n').map((l) => l.replace(/"(time|ts|at|requestId|id)":"[^"]*",?/g, '').trim()).filter((l) => /error|fail|timeout/i.test(l)))];
    log(`app errors (distinct, of the last 400 log lines): ${said.length}\n    ${said.slice(0, 8).join('\n    ')}`);
  }
  log(`dump ${b.meta.bytes} bytes (bare ${bareBytes}); safety dump ${r.safetyBackup}`);

  // Baseline in the same run: the naive restore pier replaced (end the sessions, drop the live
  // database, create it again, pg_restore into it) under the same load.
  log(`naive drop-and-restore under ${rps} req/s (baseline)`);
  const load2 = startLoad(port, rps, { path: '/items?limit=10', maxSeconds: 900 });
  await new Promise((r2) => setTimeout(r2, 5000));
  const naiveStart = Date.now();
  await runner.copyIn(b.file, '/tmp/pier-bench-naive.dump');
  const n0 = Date.now();
  await runner.exec(sql.psqlEach('pier_backup', 'postgres', [sql.dropDatabaseSql('api'), sql.createDatabaseSql('api', 'api')]));
  await runner.exec(sql.pgRestore('pier_backup', 'api', '/tmp/pier-bench-naive.dump'), 900_000);
  const naiveWindowMs = Date.now() - n0;
  await new Promise((r2) => setTimeout(r2, 3000));
  const naive = await load2.stop();
  const naiveFailedBaseline = naive.failedSentAt.filter((t) => t < naiveStart).length;
  log(`naive: ${naiveWindowMs} ms without the database, ${naive.sent} sent, ${naive.failed} failed (${naiveFailedBaseline} in the 5 s before; ${[...new Set(naive.failures)].join('; ')})`);
  await stack.close();
  const ssh = values['no-ssh'] ? undefined : await overSsh(rows, dir);
  console.log(JSON.stringify({
    bench: 'db', rows: total, backup_s: b.dumpSeconds, pg_dump_s: pgDumpS, backup_vs_pg_dump: Math.round((b.dumpSeconds / pgDumpS) * 100) / 100,
    verify_s: b.verifySeconds, restore_s: restoreS, swap_window_ms: r.swapWindowMs, failed_requests: result.failed, failed_at_swap: failedAtSwap, failed_before_swap: failedBeforeSwap, failed_baseline: failedBaseline,
    // What the goal allows: the requests due while no database was usable (plus those in flight as it began).
    requests_in_window: Math.round((r.swapWindowMs / 1000) * rps * 10) / 10, in_flight_at_swap: inFlightAtSwap, requests: result.sent, p99_ms: result.p99Ms, app_answers_after_s: recoveredS,
    naive_window_ms: naiveWindowMs, naive_failed_requests: naive.failed, naive_requests: naive.sent,
    ...(ssh ?? { ssh: 'not measured (--no-ssh)' }),
  }));
} finally {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
}
