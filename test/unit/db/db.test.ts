import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prune, swapSteps, swapWindowMs, targetMismatch } from '../../../src/db/backup.ts';
import { ageMinutes } from '../../../src/db/drill.ts';
import * as sql from '../../../src/db/commands.ts';
import { backupFileName, compareTables, metaProblems, parseMeasure, retentionVictims } from '../../../src/db/metadata.ts';
import { dockerExec, readChunk } from '../../../src/db/runner.ts';
import { separateHost } from '../../../src/db/target.ts';

describe('db commands as data', () => {
  it("pg_dump | tee: stdout and the container's copy are the dump; the exit status is pg_dump's (run by a real sh with a stand-in dumper)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-tee-'));
    try {
      const run = (file: string, dumper: string) => {
        const [sh, ...args] = [...sql.pgDumpTee('u', 'd', file).slice(0, 5), 'sh', '-c', dumper];
        return spawnSync(sh!, args, { encoding: 'utf8' });
      };
      const ok = run(join(dir, 'ok.dump'), 'printf PGDMP-bytes');
      expect([ok.status, ok.stdout, readFileSync(join(dir, 'ok.dump'), 'utf8')]).toEqual([0, 'PGDMP-bytes', 'PGDMP-bytes']);
      const failed = run(join(dir, 'bad.dump'), 'printf partial; echo "pg_dump: error: boom" >&2; exit 7');
      expect([failed.status, failed.stderr.trim()]).toEqual([7, 'pg_dump: error: boom']);
      expect(existsSync(join(dir, 'bad.dump.rc'))).toBe(false);
      expect(run(join(dir, 'no-such-dir', 'x.dump'), 'printf x').status).not.toBe(0); // the copy could not be written
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('background work: named sessions without parallel workers, their backends reniced to 19, exit status kept, the watcher waited for (run by a real sh with stand-in psql and setpriv)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-bg-'));
    try {
      // psql lists "backends": the pid of the watcher calling it (a process that exists); setpriv records its argv.
      writeFileSync(join(dir, 'psql'), `#!/bin/sh\necho "$*" >> ${dir}/psql.calls\necho $PPID\n`, { mode: 0o755 });
      writeFileSync(join(dir, 'setpriv'), `#!/bin/sh\necho "$*" >> ${dir}/setpriv.calls\n`, { mode: 0o755 });
      const argv = sql.inBackground('backup', ['sh', '-c', `echo "$PGAPPNAME|$PGOPTIONS"; sleep 0.5; exit 3`]);
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      expect(r.status).toBe(3);
      expect(r.stdout.trim()).toBe(`${sql.BACKGROUND_APP}| -c max_parallel_workers_per_gather=0 -c max_parallel_maintenance_workers=0`);
      const calls = readFileSync(join(dir, 'psql.calls'), 'utf8').trim().split('\n');
      expect(calls[0]).toContain(`--username backup --dbname postgres --command SELECT pid FROM pg_stat_activity WHERE application_name = '${sql.BACKGROUND_APP}'`);
      expect(readFileSync(join(dir, 'setpriv.calls'), 'utf8')).toMatch(/^--reuid=\d+ --regid=\d+ --clear-groups renice -n 19 -p \d+$/m);
      // The watcher ended before the wrapper did (never killed: an orphan dying by a signal in a
      // container whose PID 1 is the postmaster restarts the server): no psql call comes later.
      await new Promise((res) => setTimeout(res, 600));
      expect(readFileSync(join(dir, 'psql.calls'), 'utf8').trim().split('\n')).toHaveLength(calls.length);
      expect(argv[2]).not.toMatch(/\bkill "\$watcher"|kill \$watcher/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pg_dump custom format, pg_restore keeping owners and grants, psql strict and unaligned', () => {
    expect(sql.pgDumpTee('app', 'appdb', '/tmp/x.dump').slice(3)).toEqual(['sh', '/tmp/x.dump', 'pg_dump', '--username', 'app', '--dbname', 'appdb', '--format', 'custom']);
    expect(sql.pgRestore('app', 'appdb_pier_restore', '/tmp/x.dump')).toEqual(['pg_restore', '--username', 'app', '--dbname', 'appdb_pier_restore', '--exit-on-error', '/tmp/x.dump']);
    expect(sql.pgRestore('postgres', 'd', '/f')).not.toContain('--no-owner'); // defect 1: the app's tables stay the app's
    expect(sql.psql('app', 'postgres', 'SELECT 1')).toEqual(['psql', '--username', 'app', '--dbname', 'postgres', '--no-psqlrc', '--quiet', '--set', 'ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--field-separator', '\t', '--command', 'SELECT 1']);
    expect(dockerExec('pg', ['psql'])).toEqual(['docker', 'exec', 'pg', 'psql']);
    expect(readChunk('/tmp/x.dump', 8388608, 2)).toEqual(['sh', '-c', 'dd if="$1" bs="$2" skip="$3" count=1 status=none | base64 --wrap=0', 'sh', '/tmp/x.dump', '8388608', '2']);
  });

  it('quotes identifiers and literals', () => {
    expect(sql.ident('my"db')).toBe('"my""db"');
    expect(sql.literal("it's")).toBe("'it''s'");
    expect(sql.dropDatabaseSql('a"b')).toBe('DROP DATABASE IF EXISTS "a""b" WITH (FORCE)');
  });

  it('catalog names never pasted by pier: the server quotes them (\\gexec) and prints one JSON value per line', () => {
    const script = sql.measureScript();
    expect(script).toMatch(/^BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;/);
    expect(script).toContain("FROM %s r', t, t) FROM (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t");
    expect(script).toContain('\\gexec');
    expect(script).toMatch(/COMMIT;$/);
    const snap = sql.snapshotDumpScript('postgres', "it's", '/tmp/a b.dump');
    expect(snap).toContain('\\setenv PIER_SNAPSHOT :pier_snapshot');
    expect(snap).toContain(`\\! pg_dump --username postgres --dbname 'it'\\''s' --format custom --snapshot="$PIER_SNAPSHOT" --file '/tmp/a b.dump'; echo $? > '/tmp/a b.dump.rc'`);
    expect(sql.psqlScript('u', 'd', 'SELECT 1')).toEqual(['sh', '-c', 'script=$1; shift; printf "%s\\n" "$script" | psql "$@" --file -', 'sh', 'SELECT 1', '--username', 'u', '--dbname', 'd', '--no-psqlrc', '--quiet', '--set', 'ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--field-separator', '\t']);
  });

  it('swap: refuse and end connections, then both renames in ONE transaction, between two server clock readings', () => {
    const cmds = sql.swapCommands('appdb', 'appdb_pier_restore', 'appdb_pier_old', true);
    expect(cmds[0]).toBe('SET synchronous_commit TO off'); // no fsync wait inside the window
    expect(cmds.slice(2)).toEqual([
      sql.thinSessionsSql('appdb'), // before the window opens: the pool reconnects to the live database
      'SELECT extract(epoch FROM clock_timestamp())',
      'ALTER DATABASE "appdb" ALLOW_CONNECTIONS false',
      sql.endSessionsSql('appdb'),
      'SELECT extract(epoch FROM clock_timestamp())',
      'BEGIN; ALTER DATABASE "appdb" RENAME TO "appdb_pier_old"; ALTER DATABASE "appdb_pier_restore" RENAME TO "appdb"; COMMIT',
      'SELECT extract(epoch FROM clock_timestamp())',
    ]);
    expect(sql.psqlEach('u', 'postgres', cmds).filter((a) => a === '--command')).toHaveLength(9); // one psql session
    expect(sql.swapCommands('appdb', 's', 'o', false)[1]).toBe('ALTER DATABASE "s" RENAME TO "appdb"');
    expect(sql.swapBackCommands('appdb', 'appdb_pier_old', 'appdb_pier_failed')[3]).toBe('BEGIN; ALTER DATABASE "appdb" RENAME TO "appdb_pier_failed"; ALTER DATABASE "appdb_pier_old" RENAME TO "appdb"; COMMIT');
    expect(sql.swapBackCommands('appdb', 'appdb_pier_old', 'appdb_pier_failed')[2]).toBe(sql.endSessionsSql('appdb'));
    // Every session is signalled before any is waited for (not pg_terminate_backend(pid, timeout): one at a time, 100 ms steps),
    // and the loop ends only when no backend is left on the database: none in pg_stat_activity, none
    // holding the database's lock (a reconnecting client's backend, refused but not yet gone).
    const end = sql.endSessionsSql("it's");
    expect(end).toContain("dboid oid := (SELECT oid FROM pg_database WHERE datname = 'it''s');");
    expect(end).toContain('SELECT pid FROM pg_stat_activity WHERE datid = dboid AND pid <> pg_backend_pid()');
    expect(end).toContain("UNION SELECT pid FROM pg_locks WHERE locktype = 'object' AND classid = 'pg_database'::regclass AND objid = dboid AND pid <> pg_backend_pid()");
    expect(end).toContain('PERFORM pg_terminate_backend(p) FROM unnest(pids) p;');
    expect(end).toMatch(/LOOP\n\s*PERFORM pg_stat_clear_snapshot\(\);/); // a fresh look every time, not the transaction's cached one
    expect(end).not.toMatch(/pg_terminate_backend\([^)]*,/);
    expect(end).toMatch(/EXIT WHEN cardinality\(pids\) = 0 OR clock_timestamp\(\) > deadline;\n\s*PERFORM pg_terminate_backend/);
    expect(end).toMatch(/PERFORM pg_sleep\(0\.001\);/);
    // Before the window: the sessions open then are ended while connections are still allowed, and
    // only those (not newcomers) are waited for, bounded.
    const thin = sql.thinSessionsSql("it's");
    expect(thin).toContain("dboid oid := (SELECT oid FROM pg_database WHERE datname = 'it''s');");
    expect(thin).toContain('ended := ARRAY(SELECT pid FROM pg_stat_activity WHERE datid = dboid AND pid <> pg_backend_pid());');
    expect(thin).toMatch(/PERFORM pg_terminate_backend\(p\) FROM unnest\(ended\) p;\n\s*LOOP/);
    expect(thin).toContain('EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ANY (ended)) OR clock_timestamp() > deadline;');
    expect(thin).toContain("interval '2 seconds'");
    expect(thin).not.toContain('ALLOW_CONNECTIONS');
    expect(swapWindowMs('1764576000.100000\n3\n1764576000.142500\n')).toBe(42.5);
    expect(swapSteps('1764576000.100000\n1764576000.101000\n1764576000.130000\n1764576000.142500\n')).toEqual([1, 29, 12.5]);
    expect(swapSteps('0\n1764576000.100000\n1764576000.130000\n1764576000.142500\n')).toEqual([30, 12.5]);
    expect(swapWindowMs('0\n1764576000.100000\n1764576000.130000\n1764576000.142500\n')).toBe(42.5);
    expect(() => swapWindowMs('1\n')).toThrow(/two clock readings/);
  });

  it('swap as a superuser: one transaction locks pg_database, ends the sessions, renames; connections are never refused', () => {
    const cmds = sql.swapCommands('appdb', 'appdb_pier_restore', 'appdb_pier_old', true, true);
    expect(cmds[0]).toBe('SET synchronous_commit TO off');
    expect(cmds.slice(2)).toEqual([
      'SELECT extract(epoch FROM clock_timestamp())',
      "BEGIN; SET LOCAL lock_timeout = '2s'; LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE",
      'SELECT extract(epoch FROM clock_timestamp())',
      sql.endSessionsSql('appdb'),
      'SELECT extract(epoch FROM clock_timestamp())',
      'ALTER DATABASE "appdb" RENAME TO "appdb_pier_old"; ALTER DATABASE "appdb_pier_restore" RENAME TO "appdb"; COMMIT',
      'SELECT extract(epoch FROM clock_timestamp())',
    ]);
    expect(cmds.join('\n')).not.toContain('ALLOW_CONNECTIONS');
    const back = sql.swapBackCommands('appdb', 'appdb_pier_old', 'appdb_pier_failed', true);
    expect(back).toEqual(['SET synchronous_commit TO off', sql.LOCK_PG_DATABASE.replace(/^/, 'BEGIN; '), sql.endSessionsSql('appdb'), 'ALTER DATABASE "appdb" RENAME TO "appdb_pier_failed"; ALTER DATABASE "appdb_pier_old" RENAME TO "appdb"; COMMIT']);
    expect(sql.IS_SUPERUSER_SQL).toContain('rolsuper');
  });

  it('database-level grants: the target loses PUBLIC defaults, then gets every non-owner grant of the source, built by the server', () => {
    const [revoke, grants] = sql.copyDatabaseGrantsScript('app', 'app_pier_restore').split('\n');
    expect(revoke).toBe('REVOKE ALL ON DATABASE "app_pier_restore" FROM PUBLIC;');
    expect(grants).toMatch(/^SELECT format\('GRANT %s ON DATABASE %I TO %s%s', a\.privilege_type, 'app_pier_restore', .*aclexplode\(coalesce\(d\.datacl, acldefault\('d', d\.datdba\)\)\).* WHERE d\.datname = 'app' AND a\.grantee <> d\.datdba ORDER BY 1 \\gexec$/);
    expect(sql.accessProblemsSql('app')).toMatch(/has_database_privilege\('app', current_database\(\), priv\)/);
    expect(sql.accessProblemsSql('app')).toContain("format('%s on the database', priv)"); // no name: the scratch and live names differ
  });

  it('scratch databases get the live owner', () => {
    expect(sql.createDatabaseSql('a_pier_restore', 'app')).toBe('CREATE DATABASE "a_pier_restore" OWNER "app"');
    expect(sql.createDatabaseSql('x')).toBe('CREATE DATABASE "x"');
    expect(sql.actAsRoleScript('app', ['public'])).toContain('SET LOCAL ROLE "app";');
    expect(sql.actAsRoleScript('app', ['public'])).toContain('CREATE TABLE public.pier_access_check (id int); DROP TABLE public.pier_access_check;');
    expect(sql.actAsRoleScript('app', ['public']).split('\n').at(-1)).toBe('ROLLBACK;');
  });
});

describe('restore target', () => {
  it('refuses another environment or database; says what', () => {
    expect(targetMismatch({ env: 'production', database: 'prod' }, { env: 'production', database: 'prod' })).toBeUndefined();
    expect(targetMismatch({ env: 'staging', database: 'app' }, { env: 'production', database: 'prod' })).toBe(
      'the backup is of database app in environment staging; the target is database prod in environment production',
    );
    expect(targetMismatch({ env: 'production', database: 'app' }, { env: 'production', database: 'prod' })).toMatch(/database app .* database prod/);
  });

  it('RPO age in minutes', () => {
    expect(ageMinutes('2026-12-01T07:00:00.000Z', new Date('2026-12-01T08:30:00.000Z'))).toBe(90);
  });
});

describe('backup metadata', () => {
  it('names sort by time', () => {
    expect(backupFileName('staging', 'app db', new Date('2026-11-23T18:05:09.123Z'))).toBe('staging-app_db-20261123T180509123Z.dump');
  });

  it('parses the measure output: one JSON object per line; names with tabs and newlines intact', () => {
    const out = [
      '{"table" : "public.\\"new\\nline\\"", "rows" : 1, "checksum" : "aa"}',
      '{"table" : "public.\\"tab\\tname\\"", "rows" : 2, "checksum" : "bb"}',
      '{"migration" : {"count" : 3, "latest" : "003_add_index"}}',
      '',
    ].join('\n');
    expect(parseMeasure(out)).toEqual({
      tables: [
        { table: 'public."new\nline"', rows: 1, checksum: 'aa' },
        { table: 'public."tab\tname"', rows: 2, checksum: 'bb' },
      ],
      migration: { count: 3, latest: '003_add_index' },
    });
    expect(parseMeasure('')).toEqual({ tables: [], migration: null });
  });

  it('rejects non-numeric counts and stray lines instead of recording rows: null', () => {
    expect(() => parseMeasure('{"table": "public.t", "rows": null, "checksum": ""}')).toThrow(/public\.t: rows: expected a non-negative integer count, got null/);
    expect(() => parseMeasure('{"table": "public.t", "rows": "12", "checksum": ""}')).toThrow(/got "12"/);
    expect(() => parseMeasure('public.t\t12\tabc')).toThrow(/unexpected psql output line/);
    expect(() => parseMeasure('{"other": 1}')).toThrow(/unexpected psql output line/);
  });

  it('compares restored tables with the backup: rows, checksum, missing, extra', () => {
    const want = [{ table: 'a', rows: 2, checksum: 'x' }, { table: 'b', rows: 1, checksum: 'y' }, { table: 'c', rows: 1, checksum: 'z' }];
    expect(compareTables(want, want)).toEqual([]);
    expect(compareTables(want, [{ table: 'a', rows: 1, checksum: 'x' }, { table: 'b', rows: 1, checksum: 'q' }, { table: 'd', rows: 0, checksum: '' }])).toEqual([
      'a: 1 rows, backup had 2',
      'b: checksum q differs from the backup\'s y',
      'c: missing after restore',
      'd: not in the backup',
    ]);
  });

  it('retention keeps the newest per database by creation time, never the protected', async () => {
    const d = (file: string, database: string, createdAt: string) => ({ file, database, createdAt });
    expect(retentionVictims([d('a1', 'd', '2026-01-01T00:00:00Z'), d('a3', 'd', '2026-01-03T00:00:00Z'), d('a2', 'd', '2026-01-02T00:00:00Z')], 2)).toEqual(['a1']);
    // defect 4: backup.database changed from "zeta" to "alpha": names sort zeta first, the new dump must survive.
    const dir = mkdtempSync(join(tmpdir(), 'pier-prune-'));
    const put = (name: string, database: string, createdAt: string) => {
      writeFileSync(join(dir, name), 'x');
      writeFileSync(join(dir, `${name}.json`), JSON.stringify({ database, createdAt }));
    };
    put('p-zeta-20260101T000000000Z.dump', 'zeta', '2026-01-01T00:00:00Z');
    put('p-zeta-20260102T000000000Z.dump', 'zeta', '2026-01-02T00:00:00Z');
    put('p-alpha-20260103T000000000Z.dump', 'alpha', '2026-01-03T00:00:00Z');
    writeFileSync(join(dir, 'p-zeta-20250101T000000000Z.dump'), 'no metadata: not a finished backup, left alone');
    expect(await prune(dir, 1, [join(dir, 'p-alpha-20260103T000000000Z.dump')])).toEqual(['p-zeta-20260101T000000000Z.dump']);
    expect(readdirSync(dir).sort()).toEqual(['p-alpha-20260103T000000000Z.dump', 'p-alpha-20260103T000000000Z.dump.json', 'p-zeta-20250101T000000000Z.dump', 'p-zeta-20260102T000000000Z.dump', 'p-zeta-20260102T000000000Z.dump.json']);
    // A clock set back: the just-written file is older by createdAt but protected.
    expect(retentionVictims([d('new', 'd', '2025-01-01T00:00:00Z'), d('old', 'd', '2026-01-01T00:00:00Z')], 1, ['new'])).toEqual([]);
  });

  it('names metadata problems', () => {
    expect(metaProblems(null)).toEqual(['expected a JSON object']);
    expect(metaProblems({ format: 'x', sha256: 'abc', bytes: '1', database: 'd', tables: [], env: 'e', createdAt: 'soon' })).toEqual([
      'format: expected "pier-backup/1"', 'sha256: expected 64 hex digits', 'bytes: expected a number', 'createdAt: expected an ISO time',
    ]);
  });
});

describe('database host over SSH', () => {
  it('user@address[:port] outside the deploy hosts', () => {
    expect(separateHost('deploy@10.0.0.5')).toEqual({ name: '10.0.0.5', user: 'deploy', address: '10.0.0.5', port: 22 });
    expect(separateHost('pg@db.internal:2222')).toEqual({ name: 'db.internal', user: 'pg', address: 'db.internal', port: 2222 });
    expect(separateHost('db1')).toBeUndefined();
  });
});
