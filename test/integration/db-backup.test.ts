/**
 * Backup drill on a real PostgreSQL container (PIER_POSTGRES_IMAGE stand-in): write data, back
 * up through `pier db backup`, destroy the container AND its data volume, start an empty one,
 * restore through `pier db restore`, check every row is back; corrupted or tampered backups are
 * refused by `verify` and `restore` without touching the live database.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpolationVars } from '../../src/config/load.ts';
import { measure, restore, RestoreMismatchError } from '../../src/db/backup.ts';
import * as sql from '../../src/db/commands.ts';
import { localContainer } from '../../src/db/runner.ts';
import { exec } from '../../src/util/exec.ts';
import { newRunId, runLabels } from '../../src/util/run-id.ts';
import { repoRoot } from '../helpers/paths.ts';
import { runPier } from '../helpers/pier.ts';

const image = interpolationVars(repoRoot).PIER_POSTGRES_IMAGE ?? 'postgres:16';
const runId = newRunId();
const labels = Object.entries(runLabels(runId, { 'pier.role': 'test-db' })).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
const container = `pier-db-drill-${runId}`;
const dir = mkdtempSync(join(tmpdir(), 'pier-db-drill-'));
const backups = join(dir, 'backups');
const volumes: string[] = [];
const runner = localContainer(container);
const settings = { env: 'drill', database: 'appdb', user: 'app', dir: join(backups, 'drill'), keep: 2 };

/** `pier ...` as a user runs it; exit code and output. */
const pier = (...args: string[]) => runPier(args, { cwd: dir, env: { NO_COLOR: '1' } });

const psql = async (q: string, db = 'appdb') => (await runner.exec(sql.psql('app', db, q))).trim();

/** A fresh PostgreSQL on a fresh labelled volume; ready once it answers over TCP (after its init restart). */
async function startPostgres(): Promise<void> {
  const vol = (await exec(['docker', 'volume', 'create', ...labels])).stdout.trim();
  volumes.push(vol);
  await exec([
    'docker', 'run', '--detach', '--name', container, ...labels, '--volume', `${vol}:/var/lib/postgresql/data`,
    '--env', 'POSTGRES_USER=app', '--env', `POSTGRES_PASSWORD=pw-${runId}`, '--env', 'POSTGRES_DB=appdb', image,
  ]);
  for (let i = 0; i < 120; i++) {
    const r = await exec(['docker', 'exec', container, 'pg_isready', '--host', '127.0.0.1', '--username', 'app', '--dbname', 'appdb'], { nothrow: true });
    if (r.code === 0) return;
    await sleep(500);
  }
  throw new Error('postgres did not become ready in 60 s');
}

async function destroyPostgres(): Promise<void> {
  await exec(['docker', 'rm', '--force', '--volumes', container], { nothrow: true });
  for (const v of volumes.splice(0)) await exec(['docker', 'volume', 'rm', '--force', v], { nothrow: true });
}

// The staging shape: the database is a service of the environment's compose stack.
const stagingEnv = `stg${runId.replace(/-/g, '')}`;
let composeUp = false;

let before: Awaited<ReturnType<typeof measure>>;
let file: string;

beforeAll(async () => {
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'pier.yaml'), stringify({ app: { name: 'drill-app', image: 'pier-test/drill-app', port: 3000, health: { path: '/health' }, test: { command: ['true'] } } }));
  writeFileSync(
    join(dir, 'environments', 'drill.yaml'),
    stringify({ backup: { via: 'docker', container, database: 'appdb', user: 'app', dir: backups, keep: 2, beforeMigrate: true } }),
  );
  await startPostgres();
  await psql(
    `CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz DEFAULT now());
     INSERT INTO schema_migrations (version) VALUES ('001_items'), ('002_notes');
     CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags jsonb);
     INSERT INTO items (name, price, tags) SELECT 'item ' || g, g * 1.25, jsonb_build_object('n', g) FROM generate_series(1, 2000) g;
     CREATE TABLE "odd table" (k text, v text);
     INSERT INTO "odd table" VALUES ('quote''s', E'tab\\there'), ('null', NULL);`,
  );
  before = await measure(runner, 'app', 'appdb');
}, 120_000);

afterAll(async () => {
  await destroyPostgres();
  if (composeUp) await exec(['docker', 'compose', '-p', `pier-${stagingEnv}`, '-f', join(dir, 'compose.yaml'), 'down', '--volumes', '--timeout', '2'], { nothrow: true });
  rmSync(dir, { recursive: true, force: true });
  const left = await exec(['docker', 'ps', '-a', '--filter', `label=pier.run=${runId}`, '--quiet']);
  expect(left.stdout.trim()).toBe('');
}, 60_000);

describe.sequential('backup drill', () => {
  it('pier db backup: custom-format dump, sha256 and metadata (app version, migration level, table sums); retention keeps 2', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await pier('db', 'backup', 'drill', '--app-version', `v${i + 1}`, '--json');
      expect(r.code, r.stderr).toBe(0);
      file = (JSON.parse(r.stdout) as { file: string }).file;
      await sleep(5); // distinct timestamps in names
    }
    const kept = readdirSync(settings.dir).sort();
    expect(kept).toHaveLength(4); // 2 dumps + 2 metadata
    expect(kept.filter((f) => f.endsWith('.dump'))).toHaveLength(2);
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('PGDMP');
    expect(statSync(file).mode & 0o777).toBe(0o600); // the application's data: owner only
    expect(statSync(`${file}.json`).mode & 0o777).toBe(0o600);
    const meta = JSON.parse(readFileSync(`${file}.json`, 'utf8'));
    expect(meta).toMatchObject({ format: 'pier-backup/1', env: 'drill', database: 'appdb', appVersion: 'v3', migration: { count: 2, latest: '002_notes' } });
    expect(meta.tables).toEqual(before.tables);
    expect(meta.tables.map((t: { table: string; rows: number }) => `${t.table}=${t.rows}`)).toEqual(['public."odd table"=2', 'public.items=2000', 'public.schema_migrations=2']);
    // The scratch database of the test restore is gone.
    expect(await psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'appdb_pier_%'", 'postgres')).toBe('0');
  }, 90_000);

  it('destroy the database volume, restore into an empty server: every row is back', async () => {
    await destroyPostgres();
    await startPostgres();
    expect(await psql('SELECT count(*) FROM pg_tables WHERE schemaname = \'public\'')).toBe('0');
    const r = await pier('db', 'restore', 'drill', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/scratch matches the backup: public\."odd table" 2, public\.items 2000, public\.schema_migrations 2/);
    const after = await measure(runner, 'app', 'appdb');
    expect(after.tables).toEqual(before.tables); // counts and per-table checksums
    expect(after.migration).toEqual({ count: 2, latest: '002_notes' });
    expect(await psql("SELECT name || ' ' || price || ' ' || tags::text FROM items WHERE id = 1234")).toBe('item 1234 1542.50 {"n": 1234}');
    expect(await psql(`SELECT v FROM "odd table" WHERE k = 'quote''s'`)).toBe('tab\there');
  }, 120_000);

  it('a corrupted file is refused by verify and restore; the live database is untouched', async () => {
    const bad = join(dir, 'corrupt.dump');
    const buf = readFileSync(file);
    const mid = Math.floor(buf.length / 2);
    buf[mid] = buf[mid]! ^ 0xff;
    writeFileSync(bad, buf);
    copyFileSync(`${file}.json`, `${bad}.json`);
    await psql("INSERT INTO items (name) VALUES ('written after the backup')");
    const v = await pier('db', 'verify', bad);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/sha256 [0-9a-f]{16}… does not match the recorded [0-9a-f]{16}…: the file is corrupted/);
    const r = await pier('db', 'restore', 'drill', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the file is corrupted/);
    expect(await psql('SELECT count(*) FROM items')).toBe('2001');
    // A truncated file and one without metadata are refused too.
    writeFileSync(bad, readFileSync(file).subarray(0, 100));
    expect((await pier('db', 'verify', bad)).stderr).toMatch(/100 bytes, the backup wrote \d+: truncated or altered/);
    rmSync(`${bad}.json`);
    expect((await pier('db', 'verify', bad)).stderr).toMatch(/metadata corrupt\.dump\.json is missing/);
    // The good one still verifies.
    const ok = await pier('db', 'verify', file);
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);

  it('a restore whose data differs from the recorded checksums is not swapped in', async () => {
    const tampered = join(dir, 'tampered.dump');
    copyFileSync(file, tampered);
    const meta = JSON.parse(readFileSync(`${file}.json`, 'utf8'));
    meta.tables = meta.tables.map((t: { table: string; rows: number }) => (t.table === 'public.items' ? { ...t, rows: t.rows + 1 } : t));
    writeFileSync(`${tampered}.json`, JSON.stringify(meta));
    await expect(restore(runner, settings, tampered)).rejects.toThrow(RestoreMismatchError);
    await expect(restore(runner, settings, tampered)).rejects.toThrow(/public\.items: 2000 rows, backup had 2001/);
    expect(await psql('SELECT count(*) FROM items')).toBe('2001'); // live untouched
    expect(await psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'appdb_pier_%'", 'postgres')).toBe('0');
    expect(existsSync(tampered)).toBe(true);
  }, 60_000);
});

describe('via compose (the staging shape)', () => {
  it('pier db backup/restore reach the compose stack\'s postgres service', async () => {
    const l = { 'pier.run': runId };
    writeFileSync(
      join(dir, 'compose.yaml'),
      stringify({
        services: { postgres: { image, labels: l, environment: { POSTGRES_USER: 'app', POSTGRES_PASSWORD: `pw-${runId}`, POSTGRES_DB: 'api' }, volumes: ['pgdata:/var/lib/postgresql/data'] } },
        volumes: { pgdata: { labels: l } },
        networks: { default: { labels: l } },
      }),
    );
    writeFileSync(join(dir, 'environments', `${stagingEnv}.yaml`), stringify({ compose: ['compose.yaml'], backup: { via: 'compose', service: 'postgres', database: 'api', user: 'app', dir: backups } }));
    composeUp = true;
    await exec(['docker', 'compose', '-p', `pier-${stagingEnv}`, '-f', join(dir, 'compose.yaml'), 'up', '--detach']);
    const id = (await exec(['docker', 'compose', '-p', `pier-${stagingEnv}`, '-f', join(dir, 'compose.yaml'), 'ps', '--quiet', 'postgres'])).stdout.trim();
    for (let i = 0; i < 120; i++) {
      if ((await exec(['docker', 'exec', id, 'pg_isready', '--host', '127.0.0.1', '--username', 'app'], { nothrow: true })).code === 0) break;
      await sleep(500);
    }
    const svc = localContainer(id);
    await svc.exec(sql.psql('app', 'api', 'CREATE TABLE t (n int); INSERT INTO t SELECT generate_series(1, 321)'));
    const b = await pier('db', 'backup', stagingEnv, '--app-version', 'st1', '--json');
    expect(b.code, b.stderr).toBe(0);
    const { file: f, meta } = JSON.parse(b.stdout) as { file: string; meta: { tables: { table: string; rows: number }[] } };
    expect(f).toContain(join(backups, stagingEnv));
    expect(meta.tables).toMatchObject([{ table: 'public.t', rows: 321 }]);
    await svc.exec(sql.psql('app', 'api', 'TRUNCATE t'));
    const r = await pier('db', 'restore', stagingEnv, f);
    expect(r.code, r.stderr).toBe(0);
    expect((await svc.exec(sql.psql('app', 'api', 'SELECT count(*) FROM t'))).trim()).toBe('321');
  }, 120_000);
});
