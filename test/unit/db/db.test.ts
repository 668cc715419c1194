import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prune } from '../../../src/db/backup.ts';
import * as sql from '../../../src/db/commands.ts';
import { backupFileName, compareTables, metaProblems, parseMigrationLevel, parseTableSums, retentionVictims } from '../../../src/db/metadata.ts';
import { dockerExec, readChunk } from '../../../src/db/runner.ts';
import { separateHost } from '../../../src/db/target.ts';

describe('db commands as data', () => {
  it('pg_dump custom format, pg_restore without owners, psql strict and unaligned', () => {
    expect(sql.pgDump('app', 'appdb', '/tmp/x.dump')).toEqual(['pg_dump', '--username', 'app', '--dbname', 'appdb', '--format', 'custom', '--file', '/tmp/x.dump']);
    expect(sql.pgRestore('app', 'appdb_pier_restore', '/tmp/x.dump')).toEqual(['pg_restore', '--username', 'app', '--dbname', 'appdb_pier_restore', '--no-owner', '--exit-on-error', '/tmp/x.dump']);
    expect(sql.psql('app', 'postgres', 'SELECT 1')).toEqual(['psql', '--username', 'app', '--dbname', 'postgres', '--no-psqlrc', '--set', 'ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--field-separator', '\t', '--command', 'SELECT 1']);
    expect(dockerExec('pg', ['psql'])).toEqual(['docker', 'exec', 'pg', 'psql']);
    expect(readChunk('/tmp/x.dump', 8388608, 2)).toEqual(['sh', '-c', 'dd if="$1" bs="$2" skip="$3" count=1 status=none | base64 --wrap=0', 'sh', '/tmp/x.dump', '8388608', '2']);
  });

  it('quotes identifiers and literals', () => {
    expect(sql.ident('my"db')).toBe('"my""db"');
    expect(sql.literal("it's")).toBe("'it''s'");
    expect(sql.dropDatabaseSql('a"b')).toBe('DROP DATABASE IF EXISTS "a""b" WITH (FORCE)');
  });

  it('checksums every table in one query', () => {
    const odd = `public."odd'name"`;
    expect(sql.tableChecksumsSql(['public.items', odd])).toBe(
      "SELECT 'public.items', count(*), coalesce(md5(string_agg(md5(r::text), ',' ORDER BY md5(r::text))), '') FROM public.items r UNION ALL " +
        `SELECT 'public."odd''name"', count(*), coalesce(md5(string_agg(md5(r::text), ',' ORDER BY md5(r::text))), '') FROM public."odd'name" r`,
    );
    expect(sql.tableChecksumsSql([])).toBe("SELECT '' WHERE false");
  });

  it('swap: block and end connections, rename live away, scratch in', () => {
    expect(sql.swapSql('appdb', 'appdb_pier_restore', 'appdb_pier_old', true)).toEqual([
      'ALTER DATABASE "appdb" ALLOW_CONNECTIONS false',
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = 'appdb' AND pid <> pg_backend_pid()",
      'ALTER DATABASE "appdb" RENAME TO "appdb_pier_old"',
      'ALTER DATABASE "appdb_pier_restore" RENAME TO "appdb"',
    ]);
    expect(sql.swapSql('appdb', 's', 'o', false)).toEqual(['ALTER DATABASE "s" RENAME TO "appdb"']);
  });
});

describe('backup metadata', () => {
  it('names sort by time', () => {
    expect(backupFileName('staging', 'app db', new Date('2026-11-23T18:05:09.123Z'))).toBe('staging-app_db-20261123T180509123Z.dump');
  });

  it('parses table sums and migration level', () => {
    expect(parseTableSums('public.b\t2\tbb\npublic.a\t10\taa\n')).toEqual([
      { table: 'public.a', rows: 10, checksum: 'aa' },
      { table: 'public.b', rows: 2, checksum: 'bb' },
    ]);
    expect(parseMigrationLevel('3\t003_add_index\n')).toEqual({ count: 3, latest: '003_add_index' });
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

  it('retention keeps the newest', async () => {
    expect(retentionVictims(['s-d-20260101T000000000Z.dump', 's-d-20260103T000000000Z.dump', 's-d-20260102T000000000Z.dump'], 2)).toEqual(['s-d-20260101T000000000Z.dump']);
    const dir = mkdtempSync(join(tmpdir(), 'pier-prune-'));
    for (const d of ['1', '2', '3']) {
      writeFileSync(join(dir, `s-d-2026010${d}.dump`), 'x');
      writeFileSync(join(dir, `s-d-2026010${d}.dump.json`), '{}');
    }
    writeFileSync(join(dir, 's-d-20260100.dump'), 'no metadata: not a finished backup, left alone');
    expect(await prune(dir, 1)).toEqual(['s-d-20260102.dump', 's-d-20260101.dump']);
    expect(readdirSync(dir).sort()).toEqual(['s-d-20260100.dump', 's-d-20260103.dump', 's-d-20260103.dump.json']);
  });

  it('names metadata problems', () => {
    expect(metaProblems(null)).toEqual(['expected a JSON object']);
    expect(metaProblems({ format: 'x', sha256: 'abc', bytes: '1', database: 'd', tables: [] })).toEqual([
      'format: expected "pier-backup/1"', 'sha256: expected 64 hex digits', 'bytes: expected a number',
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
