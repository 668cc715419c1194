/** Backup metadata (the `.json` beside each dump) and the pure checks made on it. */

export const BACKUP_FORMAT = 'pier-backup/1';

export interface TableSum {
  /** schema.table as PostgreSQL quotes it. */
  table: string;
  rows: number;
  /** Order-independent md5 of the table's rows. */
  checksum: string;
}

export interface MigrationLevel {
  count: number;
  latest: string;
}

export interface BackupMeta {
  format: typeof BACKUP_FORMAT;
  env: string;
  database: string;
  /** Dump file name (beside this metadata). */
  file: string;
  bytes: number;
  sha256: string;
  createdAt: string;
  /** Release serving when the backup was taken (or given with --app-version). */
  appVersion: string;
  /** From schema_migrations; null when the database has none. */
  migration: MigrationLevel | null;
  /** Row counts and checksums measured on a test restore of this very dump. */
  tables: TableSum[];
}

/** `<env>-<db>-<UTC stamp>.dump`: names sort by time. */
export function backupFileName(env: string, database: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
  return `${env}-${database.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}.dump`;
}

/** The metadata file of a dump. */
export const metaFileOf = (dumpFile: string): string => `${dumpFile}.json`;

/** Parse `psql` tab-separated `table rows checksum` lines. */
export function parseTableSums(out: string): TableSum[] {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [table = '', rows = '0', checksum = ''] = l.split('\t');
      return { table, rows: Number(rows), checksum };
    })
    .sort((a, b) => a.table.localeCompare(b.table));
}

/** Parse the migration-level query (`count \t latest`). */
export function parseMigrationLevel(out: string): MigrationLevel {
  const [count = '0', latest = ''] = out.trim().split('\t');
  return { count: Number(count), latest };
}

/** Differences between what a backup recorded and what a restore produced (empty: identical). */
export function compareTables(expected: readonly TableSum[], actual: readonly TableSum[]): string[] {
  const diffs: string[] = [];
  const got = new Map(actual.map((t) => [t.table, t]));
  for (const e of expected) {
    const a = got.get(e.table);
    if (!a) diffs.push(`${e.table}: missing after restore`);
    else if (a.rows !== e.rows) diffs.push(`${e.table}: ${a.rows} rows, backup had ${e.rows}`);
    else if (a.checksum !== e.checksum) diffs.push(`${e.table}: checksum ${a.checksum.slice(0, 12)} differs from the backup's ${e.checksum.slice(0, 12)}`);
    got.delete(e.table);
  }
  for (const t of got.keys()) diffs.push(`${t}: not in the backup`);
  return diffs;
}

/** Dumps to delete so that the newest `keep` remain (names sort by time). */
export function retentionVictims(files: readonly string[], keep: number): string[] {
  return [...files].sort().reverse().slice(keep);
}

/** Problems with a parsed metadata object (empty: well-formed). */
export function metaProblems(m: unknown): string[] {
  if (!m || typeof m !== 'object') return ['expected a JSON object'];
  const o = m as Record<string, unknown>;
  const p: string[] = [];
  if (o.format !== BACKUP_FORMAT) p.push(`format: expected "${BACKUP_FORMAT}"`);
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) p.push('sha256: expected 64 hex digits');
  if (typeof o.bytes !== 'number') p.push('bytes: expected a number');
  if (typeof o.database !== 'string') p.push('database: expected a string');
  if (!Array.isArray(o.tables)) p.push('tables: expected a list');
  return p;
}
