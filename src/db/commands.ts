/**
 * PostgreSQL commands as data: argv run inside the database container (local socket, so no
 * password ever travels) and SQL text. Executed only by src/db/runner.ts.
 *
 * Catalog names are never split out of psql's text output: every query that returns names returns
 * one JSON value per line (control characters escaped), and names go back into SQL only quoted.
 */
import { quoteWord } from '../util/shell.ts';

/**
 * `pg_dump` in custom format (compressed, selective restore) to stdout AND to `file` inside the container (for the test restore):
 * the caller streams stdout out while the dump runs, so taking a backup costs about what a bare
 * `pg_dump -Fc > local-file` costs, also over SSH. Exits with pg_dump's status (kept in
 * `<file>.rc` across the pipe, then removed), or tee's when writing the copy failed.
 */
export function pgDumpTee(user: string, database: string, file: string): string[] {
  const script = 'f=$1; shift; rm -f "$f.rc"; { "$@" || echo $? > "$f.rc"; } | tee "$f" || exit $?; if [ -e "$f.rc" ]; then rc=$(cat "$f.rc"); rm -f "$f.rc"; exit "$rc"; fi';
  return ['sh', '-c', script, 'sh', file, 'pg_dump', '--username', user, '--dbname', database, '--format', 'custom'];
}

/**
 * `pg_restore` of a custom-format file into `database`. Ownership and grants are restored as
 * recorded (no `--no-owner`/`--no-privileges`): a restore as a superuser must leave the app's
 * tables owned by the app's role, or the app loses access to its own data.
 */
export function pgRestore(user: string, database: string, file: string): string[] {
  return ['pg_restore', '--username', user, '--dbname', database, '--exit-on-error', file];
}

const PSQL_FLAGS = ['--no-psqlrc', '--quiet', '--set', 'ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--field-separator', '\t'];

/** `psql` running `sql` with errors fatal, unaligned tab-separated output without headers. */
export function psql(user: string, database: string, sql: string): string[] {
  return ['psql', '--username', user, '--dbname', database, ...PSQL_FLAGS, '--command', sql];
}

/** `psql` running each of `commands` as its own statement (own transaction), in one session: one round trip from pier. */
export function psqlEach(user: string, database: string, commands: readonly string[]): string[] {
  return ['psql', '--username', user, '--dbname', database, ...PSQL_FLAGS, ...commands.flatMap((c) => ['--command', c])];
}

/** `psql` running a script (SQL and backslash commands such as \gexec) passed as an argument and fed on its stdin. */
export function psqlScript(user: string, database: string, script: string): string[] {
  return ['sh', '-c', 'script=$1; shift; printf "%s\\n" "$script" | psql "$@" --file -', 'sh', script, '--username', user, '--dbname', database, ...PSQL_FLAGS];
}

/** Remove a file inside the container. */
export const removeFile = (file: string): string[] => ['rm', '-f', file];

/** SQL identifier quoting: `my"db` -> `"my""db"`. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** SQL string literal: `it's` -> `'it''s'`. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

/**
 * psql lines (to run inside one transaction) that print, one JSON object per line:
 * `{"table": "schema.table" (quoted), "rows": n, "checksum": md5}` for every user table (an
 * order-independent md5 over the sorted md5 of each row's text form), and
 * `{"migration": {"count": n, "latest": v}}` when public.schema_migrations exists. Built inside the
 * server with format(%s of quote_ident, %L) and run with \gexec, so no name is ever pasted by pier.
 */
export const MEASURE_SCRIPT = [
  `SELECT format('SELECT json_build_object(''table'', %L, ''rows'', count(*), ''checksum'', coalesce(md5(string_agg(md5(r::text), '','' ORDER BY md5(r::text))), '''')) FROM %s r', t, t) FROM (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER_SCHEMAS} ORDER BY 1) x \\gexec`,
  `SELECT 'SELECT json_build_object(''migration'', json_build_object(''count'', count(*), ''latest'', coalesce(max(version)::text, ''''))) FROM public.schema_migrations' WHERE to_regclass('public.schema_migrations') IS NOT NULL \\gexec`,
];

/** Measure script: one repeatable-read snapshot for every table. */
export const measureScript = (): string => ['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;', ...MEASURE_SCRIPT, 'COMMIT;'].join('\n');

/**
 * Dump and measure the live database at the same snapshot (the drill): export the snapshot of a
 * repeatable-read transaction, run pg_dump on it (its exit status written to `<file>.rc`, since
 * psql's \! does not report it), then measure inside that same transaction.
 */
export function snapshotDumpScript(user: string, database: string, file: string): string {
  const dump = `pg_dump --username ${quoteWord(user)} --dbname ${quoteWord(database)} --format custom --snapshot="$PIER_SNAPSHOT" --file ${quoteWord(file)}`;
  return [
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;',
    'SELECT pg_export_snapshot() AS pier_snapshot \\gset',
    '\\setenv PIER_SNAPSHOT :pier_snapshot',
    `\\! ${dump}; echo $? > ${quoteWord(`${file}.rc`)}`,
    ...MEASURE_SCRIPT,
    'COMMIT;',
  ].join('\n');
}

/** application_name of pier's heavy sessions (restores into scratch databases, their checksums, safety dumps). */
export const BACKGROUND_APP = 'pier-background';

/**
 * Run `argv` (pg_restore, pg_dump, a psql script) inside the database container as background
 * work that must not starve the live app sharing the server: its sessions are named
 * BACKGROUND_APP and may use no parallel workers (one core at most), and a watcher lowers their
 * backends to nice 19 as they appear (every 0.2 s, as the OS user owning each backend: root in a
 * container lacks CAP_SYS_NICE for other users' processes). The app's backends keep nice 0, so
 * its queries win the CPU whenever both want it; on an idle server the work runs as fast as
 * before. Renicing is best effort (a server without setpriv/renice just runs the work as is).
 * Exits with argv's status once the watcher has ended.
 */
export function inBackground(user: string, argv: readonly string[]): string[] {
  const pids = `SELECT pid FROM pg_stat_activity WHERE application_name = ${literal(BACKGROUND_APP)}`;
  const script = [
    'user=$1; pids=$2; shift 2',
    `PGAPPNAME=${BACKGROUND_APP} PGOPTIONS="\${PGOPTIONS:-} -c max_parallel_workers_per_gather=0 -c max_parallel_maintenance_workers=0" "$@" &`,
    'child=$!',
    '(while kill -0 "$child" 2>/dev/null; do',
    '  for p in $(psql --no-psqlrc --quiet --tuples-only --no-align --username "$user" --dbname postgres --command "$pids" 2>/dev/null); do',
    '    u=$(stat -c %u "/proc/$p" 2>/dev/null) && setpriv --reuid="$u" --regid="$u" --clear-groups renice -n 19 -p "$p"',
    '  done',
    '  sleep 0.2',
    'done; exit 0) >/dev/null 2>&1 &',
    'watcher=$!',
    'wait "$child"; rc=$?',
    // Never kill the watcher: in a container whose PID 1 is the postmaster, an orphan that dies by
    // a signal (or exits non-zero) is taken for a crashed backend and the server restarts. Once the
    // child is reaped the watcher's loop ends by itself (within 0.2 s), with status 0.
    'wait "$watcher"',
    'exit "$rc"',
  ].join('\n');
  return ['sh', '-c', script, 'sh', user, pids, ...argv];
}

/** The role owning `db` (as JSON, "null" when there is no such database). */
export const databaseOwnerSql = (db: string): string => `SELECT to_json((SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = ${literal(db)}))`;

export const roleExistsSql = (role: string): string => `SELECT count(*) FROM pg_roles WHERE rolname = ${literal(role)}`;

/**
 * What `role` cannot do in the current database, as one JSON array of strings: per user table
 * SELECT/INSERT/UPDATE/DELETE, per user schema USAGE/CREATE. Compared before and after a restore:
 * a privilege the app had on the live database must survive the restore.
 */
export function accessProblemsSql(role: string): string {
  const r = literal(role);
  return `SELECT coalesce(json_agg(p ORDER BY p), '[]') FROM (
SELECT format('%s on table %s', priv, quote_ident(n.nspname) || '.' || quote_ident(c.relname)) AS p
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) priv
  WHERE c.relkind IN ('r', 'p') AND ${USER_SCHEMAS} AND NOT has_table_privilege(${r}, c.oid, priv)
UNION ALL
SELECT format('%s on schema %s', priv, quote_ident(n.nspname))
  FROM pg_namespace n CROSS JOIN unnest(ARRAY['USAGE', 'CREATE']) priv
  WHERE ${USER_SCHEMAS} AND NOT has_schema_privilege(${r}, n.oid, priv)
UNION ALL
SELECT format('%s on the database', priv)
  FROM unnest(ARRAY['CONNECT', 'CREATE', 'TEMPORARY']) priv
  WHERE NOT has_database_privilege(${r}, current_database(), priv)) x`;
}

/**
 * psql script (run in any database but `to`) giving database `to` the database-level grants of
 * `from` (CONNECT, CREATE, TEMPORARY to each role or PUBLIC, with grant option where `from` has
 * it). pg_restore restores them only with --create (into the original name), so a restore into a
 * scratch database would otherwise swap in PostgreSQL's defaults: CONNECT and TEMPORARY for
 * PUBLIC again, CREATE for nobody but the owner. Both databases have the same owner, whose own
 * rights are left as they are. Statements are built by the server (quote_ident, %I), run with \gexec.
 */
export function copyDatabaseGrantsScript(from: string, to: string): string {
  return [
    `REVOKE ALL ON DATABASE ${ident(to)} FROM PUBLIC;`,
    `SELECT format('GRANT %s ON DATABASE %I TO %s%s', a.privilege_type, ${literal(to)}, CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) FROM pg_database d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a WHERE d.datname = ${literal(from)} AND a.grantee <> d.datdba ORDER BY 1 \\gexec`,
  ].join('\n');
}

/**
 * As `role` itself (SET ROLE, inside a transaction that is rolled back): read every table, and
 * create (then drop) a table in every schema where the baseline says it may (`schemas`, quoted):
 * what the app and its migrations do first. Errors stop psql (ON_ERROR_STOP) with PostgreSQL's message.
 */
export function actAsRoleScript(role: string, schemas: readonly string[]): string {
  return [
    'BEGIN;',
    `SET LOCAL ROLE ${ident(role)};`,
    `SELECT format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) x', quote_ident(n.nspname) || '.' || quote_ident(c.relname)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND ${USER_SCHEMAS} \\gexec`,
    ...schemas.map((s) => `CREATE TABLE ${s}.pier_access_check (id int); DROP TABLE ${s}.pier_access_check;`),
    'ROLLBACK;',
  ].join('\n');
}

/** User schemas of the current database, quoted, as one JSON array. */
export const USER_SCHEMAS_SQL = `SELECT coalesce(json_agg(quote_ident(n.nspname) ORDER BY n.nspname), '[]') FROM pg_namespace n WHERE ${USER_SCHEMAS}`;

export const createDatabaseSql = (db: string, owner?: string): string => `CREATE DATABASE ${ident(db)}${owner ? ` OWNER ${ident(owner)}` : ''}`;
export const dropDatabaseSql = (db: string): string => `DROP DATABASE IF EXISTS ${ident(db)} WITH (FORCE)`;
export const databaseExistsSql = (db: string): string => `SELECT count(*) FROM pg_database WHERE datname = ${literal(db)}`;

const epoch = "SELECT extract(epoch FROM clock_timestamp())";

/**
 * The swap session's commits (connections off, the renames) do not wait for the WAL flush: on a
 * busy disk each fsync added tens to hundreds of ms to the window. Other sessions see a commit at
 * once either way; a server crash in the next fraction of a second could only undo the renames
 * together (one transaction), leaving the previous database live and the restored one beside it.
 */
export const NO_FLUSH_WAIT = 'SET synchronous_commit TO off';

/**
 * The skeleton both session enders share: a DO block with `db`'s oid as `dboid`, an int[] named
 * `pids`, a deadline `seconds` ahead and notices off; `first` runs once, then a loop takes a fresh
 * look at the activity views each time round, runs `look`, leaves when `done` holds or the deadline
 * has passed, else runs `next` and sleeps `stepSeconds`.
 */
function sessionsLoop(db: string, o: { pids: string; seconds: number; first?: string[]; look?: string[]; done: string; next?: string[]; stepSeconds: number }): string {
  return [
    'DO $pier$',
    'DECLARE',
    `  dboid oid := (SELECT oid FROM pg_database WHERE datname = ${literal(db)});`,
    `  ${o.pids} int[];`,
    `  deadline timestamptz := clock_timestamp() + interval '${o.seconds} seconds';`,
    'BEGIN',
    '  SET LOCAL client_min_messages = error;',
    ...(o.first ?? []).map((l) => `  ${l}`),
    '  LOOP',
    "    PERFORM pg_stat_clear_snapshot(); -- else pg_stat_activity shows this transaction's first view again",
    ...(o.look ?? []).map((l) => `    ${l}`),
    `    EXIT WHEN ${o.done} OR clock_timestamp() > deadline;`,
    ...(o.next ?? []).map((l) => `    ${l}`),
    `    PERFORM pg_sleep(${o.stepSeconds});`,
    '  END LOOP;',
    'END $pier$',
  ].join('\n');
}

/**
 * End every session on `db` and wait (up to 5 s) until no backend is left on it, which is what
 * ALTER DATABASE RENAME checks: signal them all at once, then look again every millisecond,
 * ending newcomers too. (`pg_terminate_backend(pid, timeout)` waits for one backend at a time, in
 * 100 ms steps: with an app's pool of 10 connections that alone kept the database unusable for
 * over a second. RENAME itself re-checks in 100 ms steps, so it must find nobody left.) Besides
 * pg_stat_activity this looks at pg_locks: an app reconnecting while connections are refused
 * starts a backend that holds the database's lock and counts for RENAME until it has refused
 * itself, yet never shows in pg_stat_activity. A pid that has gone is ignored (no warning shown).
 */
export function endSessionsSql(db: string): string {
  return sessionsLoop(db, {
    pids: 'pids',
    seconds: 5,
    look: [
      'pids := ARRAY(SELECT pid FROM pg_stat_activity WHERE datid = dboid AND pid <> pg_backend_pid()',
      "  UNION SELECT pid FROM pg_locks WHERE locktype = 'object' AND classid = 'pg_database'::regclass AND objid = dboid AND pid <> pg_backend_pid());",
    ],
    done: 'cardinality(pids) = 0',
    next: ['PERFORM pg_terminate_backend(p) FROM unnest(pids) p;'],
    stepSeconds: 0.001,
  });
}

/**
 * End the sessions open on `db` now, while it still accepts connections, and wait (up to 2 s)
 * until those backends have exited. Outside the window: the app's pool reconnects at once to the
 * same live database (a query in flight is retried or fails as at any dropped connection), so
 * when connections are refused a moment later only the few sessions opened since are left to end
 * inside the window. On a busy machine each ended backend takes tens of ms to be scheduled and
 * exit; a pool of 10 of them was most of a 130 ms window.
 */
export function thinSessionsSql(db: string): string {
  return sessionsLoop(db, {
    pids: 'ended',
    seconds: 2,
    first: [
      'ended := ARRAY(SELECT pid FROM pg_stat_activity WHERE datid = dboid AND pid <> pg_backend_pid());',
      'PERFORM pg_terminate_backend(p) FROM unnest(ended) p;',
    ],
    done: 'NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ANY (ended))',
    stepSeconds: 0.002,
  });
}

/**
 * For a superuser (the usual backup.user), the swap's transaction first locks pg_database, then
 * ends every session on the live database (endSessionsSql) and renames. While the lock is held a
 * new connection to any database on the server waits at its first look at pg_database, before it
 * joins a database (PostgreSQL's InitPostgres): it neither counts for ALTER DATABASE RENAME nor
 * fails, and once the swap commits it finds the restored database under the live name. Ending
 * sessions while connections are merely refused (ALLOW_CONNECTIONS false, the non-superuser path)
 * races an app's pool reconnecting 200 times a second: each attempt is a backend on the database
 * for a moment, and the loop took up to 2 s to find none. A backend caught between joining the
 * database and its re-read of pg_database waits on this lock while RENAME would wait for it:
 * pg_locks names it, and endSessionsSql ends it too. lock_timeout bounds the wait for the lock
 * behind a long transaction that read pg_database (the swap then fails having changed nothing).
 */
export const LOCK_PG_DATABASE = "SET LOCAL lock_timeout = '2s'; LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE";

/**
 * Swap a verified scratch database into the live name, as the statements of one psql session
 * (one round trip), so there is never a moment without a database under the live name once the
 * window closes. The clock readings (server time) split the window into ending sessions and
 * renaming; their sum is the time without a usable database. `old` is kept until the caller's
 * checks pass.
 *   - superuser (`locked`): one transaction locks pg_database, ends the sessions on live
 *     (endSessionsSql) and does both renames; new connections wait for it instead of failing.
 *   - otherwise: end the open sessions while live still accepts connections (thinSessionsSql,
 *     outside the window), refuse new connections to live, end those opened since
 *     (endSessionsSql), then both renames in one transaction.
 */
export function swapCommands(live: string, scratch: string, old: string, liveExists: boolean, locked = false): string[] {
  if (!liveExists) return [epoch, `ALTER DATABASE ${ident(scratch)} RENAME TO ${ident(live)}`, epoch];
  const renames = `ALTER DATABASE ${ident(live)} RENAME TO ${ident(old)}; ALTER DATABASE ${ident(scratch)} RENAME TO ${ident(live)}; COMMIT`;
  // Warm-up outside the window: a new session's first look at pg_stat_activity / pg_database
  // loads their catalog entries, which took 100-400 ms on a busy machine inside the window.
  const warmUp = `SELECT count(*) FROM pg_stat_activity a JOIN pg_database d ON d.datname = a.datname WHERE d.datname IN (${literal(live)}, ${literal(scratch)}) AND a.pid <> pg_backend_pid() AND false`;
  if (locked) return [NO_FLUSH_WAIT, warmUp, epoch, `BEGIN; ${LOCK_PG_DATABASE}`, epoch, endSessionsSql(live), epoch, renames, epoch];
  return [
    NO_FLUSH_WAIT,
    warmUp,
    thinSessionsSql(live),
    epoch,
    `ALTER DATABASE ${ident(live)} ALLOW_CONNECTIONS false`,
    endSessionsSql(live),
    epoch,
    `BEGIN; ${renames}`,
    epoch,
  ];
}

/**
 * Undo a swap whose post-swap check failed: the restored database moves aside to `failed`, the
 * old one back under the live name (one transaction), accepting connections; `locked` as for
 * swapCommands.
 */
export function swapBackCommands(live: string, old: string, failed: string, locked = false): string[] {
  const renames = `ALTER DATABASE ${ident(live)} RENAME TO ${ident(failed)}; ALTER DATABASE ${ident(old)} RENAME TO ${ident(live)}; COMMIT`;
  if (locked) return [NO_FLUSH_WAIT, `BEGIN; ${LOCK_PG_DATABASE}`, endSessionsSql(live), renames];
  return [
    NO_FLUSH_WAIT,
    `ALTER DATABASE ${ident(live)} ALLOW_CONNECTIONS false`,
    endSessionsSql(live),
    `BEGIN; ${renames}`,
    allowConnectionsSql(live),
  ];
}

/** 1 when the role the restore runs as is a superuser (the locked swap needs it). */
export const IS_SUPERUSER_SQL = 'SELECT CASE WHEN rolsuper THEN 1 ELSE 0 END FROM pg_roles WHERE rolname = current_user';

export const allowConnectionsSql = (db: string): string => `ALTER DATABASE ${ident(db)} ALLOW_CONNECTIONS true`;
