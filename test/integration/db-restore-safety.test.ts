/**
 * Restores that never lose production data, on one real PostgreSQL container (the stand-in image)
 * shared by every test here. The normal set-up: backups run as the superuser `postgres`, the app
 * connects as its own role `app`, which owns its database. Each test is one defect of issue 13:
 * ownership kept (the app reads, writes and migrates after a restore), wrong-target restores
 * refused (and --force keeps a safety dump that restores), one-transaction swap (no moment without
 * the database), retention by creation time per database, odd table names; then database-level
 * grants kept, the swap undone when the post-swap check fails, and the drill.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpolationVars } from '../../src/config/load.ts';
import * as sql from '../../src/db/commands.ts';
import { localContainer } from '../../src/db/runner.ts';
import { exec } from '../../src/util/exec.ts';
import { newRunId, runLabels } from '../../src/util/run-id.ts';
import { repoRoot } from '../helpers/paths.ts';
import { runPier } from '../helpers/pier.ts';

const image = interpolationVars(repoRoot).PIER_POSTGRES_IMAGE ?? 'postgres:16';
const runId = newRunId();
const labels = Object.entries(runLabels(runId, { 'pier.role': 'test-db' })).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const container = `pier-db-safety-${runId}`;
const dir = mkdtempSync(join(tmpdir(), 'pier-db-safety-'));
const backups = join(dir, 'backups');
const runner = localContainer(container);

const pier = (...args: string[]) => runPier(args, { cwd: dir, env: { NO_COLOR: '1' } });

/** psql as `role` (the container's local socket trusts it, as the app's own login would be). */
const as = async (role: string, db: string, q: string) => (await runner.exec(sql.psql(role, db, q))).trim();
const asApp = (db: string, q: string) => as('app', db, q);
const asSuper = (db: string, q: string) => as('postgres', db, q);

/** environments/<name>.yaml with a backup section through the local container, as postgres. */
function env(name: string, database: string, extra: Record<string, unknown> = {}): void {
  writeFileSync(join(dir, 'environments', `${name}.yaml`), stringify({ backup: { via: 'docker', container, database, user: 'postgres', dir: backups, keep: 3, ...extra } }));
}

beforeAll(async () => {
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'pier.yaml'), stringify({ app: { name: 'safety-app', image: 'pier-test/safety-app', port: 3000, health: { path: '/health' }, test: { command: ['true'] } } }));
  await exec(['docker', 'run', '--detach', '--name', container, ...labels, '--tmpfs', '/var/lib/postgresql/data', '--env', `POSTGRES_PASSWORD=pw-${runId}`, image]);
  for (let i = 0; i < 120; i++) {
    if ((await exec(['docker', 'exec', container, 'pg_isready', '--host', '127.0.0.1', '--username', 'postgres'], { nothrow: true })).code === 0) break;
    await sleep(500);
  }
  await runner.exec(sql.psqlEach('postgres', 'postgres', ['CREATE ROLE app LOGIN', 'CREATE DATABASE app OWNER app', 'CREATE DATABASE prod OWNER app']));
  // The app's own migrations, run as the app: it owns its tables.
  await asApp('app', `CREATE TABLE schema_migrations (version text PRIMARY KEY);
    INSERT INTO schema_migrations VALUES ('001_items');
    CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
    INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 500) g;`);
  await asApp('prod', `CREATE TABLE orders (id serial PRIMARY KEY, total numeric);
    INSERT INTO orders (total) SELECT g FROM generate_series(1, 1000) g;`);
}, 300_000);

afterAll(async () => {
  await exec(['docker', 'rm', '--force', '--volumes', container], { nothrow: true });
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const fileOf = (r: { stdout: string }) => (JSON.parse(r.stdout) as { file: string }).file;

describe.sequential('restore safety (backup user postgres, app role app)', () => {
  let appBackup: string | undefined;
  /** The staging backup of app that several tests restore (taken once, by whichever runs first: each test also runs alone with -t). */
  async function stagingBackup(): Promise<string> {
    if (appBackup) return appBackup;
    env('staging', 'app');
    const b = await pier('db', 'backup', 'staging', '--app-version', 'v1', '--json');
    expect(b.code, b.stderr).toBe(0);
    return (appBackup = fileOf(b));
  }

  it('defect 1: after backup + restore the app role still reads, writes and runs a migration', async () => {
    const file = await stagingBackup();
    await asApp('app', "INSERT INTO items (name) VALUES ('after the backup')");
    expect(JSON.parse(readFileSync(`${file}.json`, 'utf8'))).toMatchObject({ database: 'app' });
    const r = await pier('db', 'restore', 'staging', file);
    expect(r.code, r.stderr).toBe(0);
    expect(await asApp('app', 'SELECT count(*) FROM items')).toBe('500');
    expect(await asApp('app', "INSERT INTO items (name) VALUES ('written by the app') RETURNING id")).toMatch(/^\d+$/);
    // A migration, as the app's migrate step runs it.
    await asApp('app', "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO schema_migrations VALUES ('002_notes')");
    expect(await asApp('app', 'SELECT count(*) FROM schema_migrations')).toBe('2');
    expect(await asSuper('app', "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'items'")).toBe('app');
    expect(r.stderr).toMatch(/role app reads, writes and creates in app/);
    expect(await asSuper('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'app_pier_%'")).toBe('0');
  }, 300_000);

  it('defect 2: a staging backup of app is refused for production prod; --force says what it replaces and keeps a safety dump that restores', async () => {
    const file = await stagingBackup();
    env('production', 'prod');
    const refused = await pier('db', 'restore', 'production', file);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to restore: the backup is of database app in environment staging; the target is database prod in environment production/);
    expect(await asApp('prod', 'SELECT count(*) FROM orders')).toBe('1000');
    expect(await asSuper('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'prod_pier_%'")).toBe('0');

    const forced = await pier('db', 'restore', 'production', file, '--force', '--json');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/--force: .*; replacing prod \(public\.orders 1000 rows\)/);
    const { safetyBackup } = JSON.parse(forced.stdout) as { safetyBackup: string };
    expect(safetyBackup).toContain(join(backups, 'production'));
    expect(JSON.parse(readFileSync(`${safetyBackup}.json`, 'utf8'))).toMatchObject({ env: 'production', database: 'prod', reason: 'before-restore' });
    expect(await asApp('prod', "SELECT to_regclass('public.orders') IS NULL")).toBe('t');
    // The safety dump brings the orders back (same environment and database: no --force needed).
    const back = await pier('db', 'restore', 'production', safetyBackup);
    expect(back.code, back.stderr).toBe(0);
    expect(await asApp('prod', 'SELECT count(*) FROM orders')).toBe('1000');
  }, 400_000);

  it('defect 3: the swap leaves no moment without the database and reports the window', async () => {
    const file = await stagingBackup();
    // A probe inside the container connects to app every few ms through the restore and logs each failure.
    const probe = `/tmp/probe-${runId}`;
    await exec(['docker', 'exec', '--detach', container, 'sh', '-c',
      `end=$(( $(date +%s) + 90 )); while [ ! -e ${probe}.stop ] && [ $(date +%s) -lt $end ]; do psql -U app -d app -XAtqc 'SELECT 1' >/dev/null 2>>${probe}.err && echo ok >> ${probe}.ok; sleep 0.005; done; touch ${probe}.done`]);
    await sleep(500);
    const r = await pier('db', 'restore', 'staging', file, '--json');
    await sleep(500);
    await runner.exec(['touch', `${probe}.stop`]);
    for (let i = 0; i < 40 && (await exec(['docker', 'exec', container, 'test', '-e', `${probe}.done`], { nothrow: true })).code !== 0; i++) await sleep(100);
    expect(r.code, r.stderr).toBe(0);
    const { swapWindowMs } = JSON.parse(r.stdout) as { swapWindowMs: number };
    const errors = await runner.exec(['sh', '-c', `cat ${probe}.err 2>/dev/null || true`]);
    const oks = Number((await runner.exec(['sh', '-c', `wc -l < ${probe}.ok`])).trim());
    expect(oks).toBeGreaterThan(20); // the probe did run across the restore
    expect(errors).not.toMatch(/database "app" does not exist/); // never a moment with no app database
    expect(swapWindowMs).toBeGreaterThan(0);
    expect(swapWindowMs).toBeLessThan(1000);
    console.log(`swap window ${swapWindowMs} ms; probe: ${oks} ok, failures: ${errors.split('\n').filter((l) => /FATAL|error/i.test(l)).length}`);
  }, 400_000);

  it('defect 4: after backup.database changes, retention keeps the new dump (by creation time, per database)', async () => {
    await runner.exec(sql.psql('postgres', 'postgres', 'CREATE DATABASE aaa OWNER app'));
    env('retain', 'app', { keep: 1 });
    const first = await pier('db', 'backup', 'retain', '--json');
    expect(first.code, first.stderr).toBe(0);
    env('retain', 'aaa', { keep: 1 }); // "aaa" sorts before "app" by file name
    const second = await pier('db', 'backup', 'retain', '--json');
    expect(second.code, second.stderr).toBe(0);
    expect(existsSync(fileOf(second))).toBe(true);
    expect(existsSync(fileOf(first))).toBe(true); // another database's newest: kept too
    const third = await pier('db', 'backup', 'retain', '--json');
    expect(existsSync(fileOf(third))).toBe(true);
    expect(existsSync(fileOf(second))).toBe(false); // older dump of aaa beyond keep: 1
    expect(readdirSync(join(backups, 'retain')).filter((f) => f.endsWith('.dump')).sort()).toEqual([fileOf(third), fileOf(first)].map((f) => f.split('/').at(-1)).sort());
  }, 300_000);

  it('defect 5: tables named with a tab and a newline are backed up, counted and restored', async () => {
    await runner.exec(sql.psql('postgres', 'postgres', 'CREATE DATABASE odd OWNER app'));
    await asApp('odd', 'CREATE TABLE "tab\tname" (n int); INSERT INTO "tab\tname" SELECT generate_series(1, 7); CREATE TABLE "new\nline" (s text); INSERT INTO "new\nline" VALUES (\'x\'), (\'y\')');
    env('odd', 'odd');
    const b = await pier('db', 'backup', 'odd', '--json');
    expect(b.code, b.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(`${fileOf(b)}.json`, 'utf8')) as { tables: { table: string; rows: number }[] };
    expect(meta.tables.map((t) => [t.table, t.rows])).toEqual([['public."new\nline"', 2], ['public."tab\tname"', 7]]);
    await asApp('odd', 'TRUNCATE "tab\tname"');
    const r = await pier('db', 'restore', 'odd', fileOf(b));
    expect(r.code, r.stderr).toBe(0);
    expect(await asApp('odd', 'SELECT count(*) FROM "tab\tname"')).toBe('7');
  }, 300_000);

  it('database-level grants and default privileges survive a restore (CONNECT revoked from PUBLIC, CREATE granted, defaults for new tables)', async () => {
    await runner.exec(sql.psqlEach('postgres', 'postgres', [
      'CREATE ROLE reader LOGIN', 'CREATE ROLE migrator LOGIN', 'CREATE ROLE outsider LOGIN', 'CREATE DATABASE acl OWNER app',
      'REVOKE ALL ON DATABASE acl FROM PUBLIC', 'GRANT CONNECT ON DATABASE acl TO reader', 'GRANT CONNECT, CREATE ON DATABASE acl TO migrator',
    ]));
    await asApp('acl', `CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 5); GRANT SELECT ON t TO reader;
      ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO reader`);
    env('acl', 'acl');
    const b = await pier('db', 'backup', 'acl', '--json');
    expect(b.code, b.stderr).toBe(0);
    const r = await pier('db', 'restore', 'acl', fileOf(b));
    expect(r.code, r.stderr).toBe(0);
    expect(await as('reader', 'acl', 'SELECT count(*) FROM t')).toBe('5');
    await expect(as('outsider', 'acl', 'SELECT 1')).rejects.toThrow(/permission denied for database "acl"/); // PUBLIC still has no CONNECT
    await as('migrator', 'acl', 'CREATE SCHEMA migrations_here'); // CREATE on the database
    await asApp('acl', 'CREATE TABLE t2 AS SELECT 1 AS n'); // default privileges: reader may read new tables of app
    expect(await as('reader', 'acl', 'SELECT count(*) FROM t2')).toBe('1');
  }, 300_000);

  it('the post-swap check as the app role fails: the previous database is put back, nothing lost, connections accepted', async () => {
    await runner.exec(sql.psql('postgres', 'postgres', 'CREATE DATABASE sb OWNER app'));
    await asApp('sb', 'CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 100)');
    // The backup carries an event trigger that refuses DDL by the app: privileges look complete,
    // yet the app could not migrate on the restored database.
    await asSuper('sb', `CREATE FUNCTION no_app_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN IF current_user = 'app' THEN RAISE EXCEPTION 'no DDL for app here'; END IF; END $$;
      CREATE EVENT TRIGGER no_app_ddl ON ddl_command_start EXECUTE FUNCTION no_app_ddl()`);
    env('swapback', 'sb');
    const b = await pier('db', 'backup', 'swapback', '--json');
    expect(b.code, b.stderr).toBe(0);
    await asSuper('sb', 'DROP EVENT TRIGGER no_app_ddl');
    await asApp('sb', 'INSERT INTO t SELECT generate_series(101, 150)'); // written after the backup: must survive
    const oid = await asSuper('postgres', "SELECT oid FROM pg_database WHERE datname = 'sb'");
    const r = await pier('db', 'restore', 'swapback', fileOf(b));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/swapped into sb/);
    expect(r.stderr).toMatch(/after the swap role app could not use sb; the previous database is back:[\s\S]*no DDL for app here/);
    expect(await asSuper('postgres', "SELECT oid FROM pg_database WHERE datname = 'sb'")).toBe(oid); // the very same database
    expect(await asApp('sb', 'SELECT count(*) FROM t')).toBe('150');
    expect(await asApp('sb', 'CREATE TABLE after_swap_back (n int); SELECT 1')).toBe('1');
    expect(await asSuper('postgres', "SELECT datallowconn FROM pg_database WHERE datname = 'sb'")).toBe('t');
    expect(await asSuper('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'sb_pier_%'")).toBe('0');
  }, 300_000);

  it('pier db drill: RPO against backup.rpoMinutes, snapshot comparison, timed restore, run report; exit 1 without a recent backup', async () => {
    env('drill', 'app', { rpoMinutes: 60 });
    const first = await pier('db', 'drill', 'drill', '--json');
    expect(first.code).toBe(1); // no verified backup before this drill
    const r1 = JSON.parse(first.stdout) as { problems: string[]; rpo: { met: boolean }; restore: { seconds: number; diffs: string[] } };
    expect(r1.rpo.met).toBe(false);
    expect(r1.problems).toEqual([expect.stringMatching(/^RPO: no verified backup of app in /)]);
    const second = await pier('db', 'drill', 'drill', '--json');
    expect(second.code, second.stderr).toBe(0);
    const r2 = JSON.parse(second.stdout) as { runId: string; status: string; rpo: { met: boolean; newest: { ageMinutes: number } }; snapshotDiffs: string[]; restore: { seconds: number; diffs: string[] }; backup: { rows: number } };
    expect(r2).toMatchObject({ status: 'ok', rpo: { met: true }, snapshotDiffs: [], restore: { diffs: [] } });
    expect(r2.rpo.newest.ageMinutes).toBeLessThan(5);
    expect(r2.restore.seconds).toBeGreaterThan(0);
    expect(r2.backup.rows).toBeGreaterThan(500);
    expect(JSON.parse(readFileSync(join(dir, '.pier', 'runs', r2.runId, 'report.json'), 'utf8'))).toMatchObject({ command: 'db drill', status: 'ok' });
    expect(await asSuper('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'app_pier_%'")).toBe('0');
  }, 400_000);
});
