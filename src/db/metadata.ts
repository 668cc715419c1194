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
  /** Role owning the database when it was dumped: the owner a restore into an empty server gives the new database. */
  owner?: string;
  /** Why it was taken: a `pier db backup`, the one before a migration, the safety dump before a restore, a drill. */
  reason?: 'backup' | 'before-migrate' | 'before-restore' | 'drill';
}

/** `<env>-<db>-<UTC stamp>.dump`: names sort by time. */
export function backupFileName(env: string, database: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
  return `${env}-${database.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}.dump`;
}

/** The metadata file of a dump. */
export const metaFileOf = (dumpFile: string): string => `${dumpFile}.json`;

/**
 * Parse the measure script's output: one JSON object per line, `{"table","rows","checksum"}` or
 * `{"migration": {"count","latest"}}`. A count that is not a non-negative integer, or a line that
 * is not one of those, is an error rather than a silently wrong backup.
 */
export function parseMeasure(out: string): { tables: TableSum[]; migration: MigrationLevel | null } {
  const tables: TableSum[] = [];
  let migration: MigrationLevel | null = null;
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`unexpected psql output line: ${JSON.stringify(line.slice(0, 200))}`);
    }
    const o = v as Record<string, unknown>;
    if (o && typeof o.table === 'string') {
      tables.push({ table: o.table, rows: count(o.rows, `${o.table}: rows`), checksum: typeof o.checksum === 'string' ? o.checksum : '' });
    } else if (o && o.migration && typeof o.migration === 'object') {
      const m = o.migration as Record<string, unknown>;
      migration = { count: count(m.count, 'schema_migrations: count'), latest: String(m.latest ?? '') };
    } else throw new Error(`unexpected psql output line: ${JSON.stringify(line.slice(0, 200))}`);
  }
  return { tables: tables.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0)), migration };
}

function count(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw new Error(`${what}: expected a non-negative integer count, got ${JSON.stringify(v)}`);
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

/** What retention needs to know of a kept dump. */
export interface KeptDump {
  file: string;
  database: string;
  createdAt: string;
}

/**
 * Dumps to delete so that the newest `keep` of each database remain. Ordered by the metadata's
 * creation time (file names start with the database name, so they do not sort by time across a
 * `backup.database` change); files in `protect` (the one just written, the one being restored)
 * are never deleted.
 */
export function retentionVictims(dumps: readonly KeptDump[], keep: number, protect: readonly string[] = []): string[] {
  const byDb = new Map<string, KeptDump[]>();
  for (const d of dumps) byDb.set(d.database, [...(byDb.get(d.database) ?? []), d]);
  const victims: string[] = [];
  for (const list of byDb.values()) {
    const newest = [...list].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.file < b.file ? 1 : -1));
    victims.push(...newest.slice(keep).map((d) => d.file).filter((f) => !protect.includes(f)));
  }
  return victims;
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
  if (typeof o.env !== 'string') p.push('env: expected a string');
  if (typeof o.createdAt !== 'string' || Number.isNaN(Date.parse(o.createdAt))) p.push('createdAt: expected an ISO time');
  return p;
}
