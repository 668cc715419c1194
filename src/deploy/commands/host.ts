/**
 * Host-side file operations as argv: the lock, the audit log, releases history, uploads.
 * Values travel as positional parameters of a fixed `sh -c` script, never spliced into it.
 */
import { SECTION_HEADER } from '../log-cursor.ts';
import { NGINX_TEST_AND_RELOAD } from './docker.ts';
import { shScript } from './shell.ts';

/** Exit status of `acquireLock` when someone else holds the lock (stdout: their info.json). */
export const LOCK_HELD_EXIT = 75;

/**
 * Take the host lock atomically: `mkdir` either creates the directory or fails because it exists.
 * The holder's record (JSON) is written inside it.
 */
export function acquireLock(lockDir: string, infoJson: string): string[] {
  return shScript(
    `mkdir -p "$(dirname "$1")" && if mkdir "$1" 2>/dev/null; then printf '%s\\n' "$2" > "$1/info.json"; else cat "$1/info.json" 2>/dev/null; exit ${LOCK_HELD_EXIT}; fi`,
    lockDir,
    infoJson,
  );
}

/** Release the lock only if `runId` still holds it (exit 0 either way when it is already gone). */
export function releaseLock(lockDir: string, runId: string): string[] {
  return shScript(`[ ! -d "$1" ] || { grep -qF "\\"run\\":\\"$2\\"" "$1/info.json" 2>/dev/null && rm -rf "$1"; }`, lockDir, runId);
}

/**
 * Delete `file` (the app's env file), then release the lock, in one round trip: both only when
 * `runId` holds the lock or nobody does (exit 1, nothing removed, when another run holds it).
 */
export function removeAndReleaseLock(lockDir: string, runId: string, file: string): string[] {
  return shScript(`if [ -d "$1" ]; then grep -qF "\\"run\\":\\"$2\\"" "$1/info.json" 2>/dev/null || exit 1; fi; rm -f "$3" && rm -rf "$1"`, lockDir, runId, file);
}

/** Remove the lock whoever holds it (`pier lock release`). */
export const forceReleaseLock = (lockDir: string): string[] => ['rm', '-rf', lockDir];

/** Print the lock record, or nothing when the host is unlocked. */
export const readLock = (lockDir: string): string[] => shScript(`cat "$1/info.json" 2>/dev/null || true`, lockDir);

/** Append one line to an append-only log (a single write under PIPE_BUF is atomic with O_APPEND). */
export function appendLine(file: string, line: string): string[] {
  if (line.includes('\n')) throw new Error('appendLine: line must not contain a newline');
  return shScript(`mkdir -p "$(dirname "$1")" && umask 077 && printf '%s\\n' "$2" >> "$1"`, file, line);
}

/** Write stdin to `file` with `mode`, atomically (temp file + rename). */
export function writeFile(file: string, mode = '0600'): string[] {
  return shScript(`mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"`, file, mode);
}

/**
 * Write the proxy config (stdin, mode 0644) and reload nginx in container `proxy`, in one host-side
 * step: the config on disk is what nginx serves, so it can be trusted as the record of what serves
 * (src/deploy/reconcile.ts). Fails when nginx rejects the config or the proxy does not run (the
 * caller then starts it).
 */
export function writeProxyConf(file: string, proxy: string): string[] {
  return shScript(`mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod 0644 "$1.tmp" && mv "$1.tmp" "$1" && docker exec "$2" sh -c '${NGINX_TEST_AND_RELOAD}'`, file, proxy);
}

/** File content, or nothing when it does not exist. */
export const readFile = (file: string): string[] => shScript(`cat "$1" 2>/dev/null || true`, file);

/** The last `lines` lines of a file, or nothing. */
export const tailFile = (file: string, lines: number): string[] => shScript(`tail -n "$2" "$1" 2>/dev/null || true`, file, String(lines));

/**
 * Where a rotating log ends now (`<inode> <size>` of the live file; of `.1` while a rotation is
 * between its rename and nginx's reopen; nothing when neither exists): the start of a reader's
 * cursor (src/deploy/log-cursor.ts).
 */
export const logMark = (file: string): string[] => shScript(`for p in "$1" "$1.1"; do if [ -f "$p" ]; then stat -c '%i %s' "$p"; exit 0; fi; done`, file);

/** Rotated files a reader looks at: `.1` .. `.${MAX_ROTATED}` (proxy.logs.maxFiles keeps at most that many). */
export const MAX_ROTATED = 9;

/**
 * Read a rotating log since a cursor (`ino:offset` per file seen, oldest first), in one round trip,
 * from the oldest file (`.9` .. `.1`, then the live one) to the newest: a file of the cursor is
 * read from its offset; every file newer than one of the cursor's is read from 0 (it was created
 * by a rotation since); older files are skipped. A file whose inode the cursor knows but that is
 * smaller than the offset, or that appears newer than a file the cursor knew as newer (the inode
 * of a deleted file reused), is new. When none of the cursor's files is left (the reader fell
 * behind by every kept file) or the cursor is empty, every file is read from 0. Each file is
 * opened once (fd 3) so its identity, size and bytes agree; renames wait for the read (a lock
 * shared with the rotation loop, src/deploy/commands/log-rotate.ts). Output per
 * file: `@pier-log <ino> <start> <size>`, the bytes start..size, a newline (see parseSections).
 */
export function readLogSince(file: string, cursor: readonly string[]): string[] {
  const each = Array.from({ length: MAX_ROTATED }, (_, i) => MAX_ROTATED - i).join(' ') + ' 0';
  return shScript(
    [
      // The rotation loop renames under the same lock (.rotating, an atomic mkdir): the listing and
      // the reads see no rename in between. Waited for 2 s at most (then read anyway).
      'f=$1; shift; any=; last=0; fresh=; l=${f%/*}/.rotating; own=; t=0',
      'if [ -d "${f%/*}" ]; then while [ "$t" -lt 100 ]; do if mkdir "$l" 2>/dev/null; then own=1; break; fi; sleep 0.02; t=$((t+1)); done; fi',
      `for n in ${each}; do p=$f; [ "$n" = 0 ] || p=$f.$n; [ -f "$p" ] || continue; i=$(stat -c %i "$p" 2>/dev/null) || continue; for k in "$@"; do [ "\${k%%:*}" != "$i" ] || any=1; done; done`,
      `for n in ${each}; do p=$f; [ "$n" = 0 ] || p=$f.$n; [ -f "$p" ] || continue; {`,
      ` s=$(stat -L -c '%i %s' /dev/fd/3) || continue; i=\${s% *}; size=\${s#* }; start=; j=0; kj=0`,
      ' for k in "$@"; do j=$((j+1)); if [ "${k%%:*}" = "$i" ]; then start=${k#*:}; kj=$j; fi; done',
      ' if [ -n "$fresh" ]; then start=0',
      ' elif [ -n "$start" ] && [ "$kj" -gt "$last" ] && [ "$start" -le "$size" ]; then last=$kj',
      ' elif [ "$last" -gt 0 ] || [ -z "$any" ] || [ -n "$start" ]; then start=0; fresh=1',
      ' else continue; fi',
      ` printf '${SECTION_HEADER} %s %s %s\\n' "$i" "$start" "$size"`,
      ' tail -c +$((start+1)) <&3 | head -c $((size-start))',
      " printf '\\n'",
      '} 2>/dev/null 3<"$p"; done',
      '[ -z "$own" ] || rmdir "$l"',
    ].join('\n'),
    file,
    ...cursor,
  );
}

/**
 * Disk figures in one round trip: for pier's directory (its nearest existing parent) and Docker's
 * data root (when it exists on this host), one line each: `path freeKb totalKb freeInodes totalInodes mount`.
 */
export const diskUsage = (dir: string): string[] =>
  shScript(
    `d="$1"; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; r=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null); for p in "$d" \${r:+"$r"}; do [ -d "$p" ] || continue; printf '%s %s %s\\n' "$p" "$(df -Pk "$p" | awk 'NR==2 {print $4, $2}')" "$(df -Pi "$p" | awk 'NR==2 {print $4, $2, $6}')"; done`,
    dir,
  );

/** Make pier's directories on a host. */
export const mkdirs = (...dirs: string[]): string[] => ['mkdir', '-p', ...dirs];

/**
 * One health poll in one round trip, by container name: the container's state and its address on
 * the pier network (`docker inspect`), then, when it runs and has an address, the HTTP status of
 * `http://<address>:<port><path>`. Prints the status on the first line ('000' when nothing
 * answered or nothing was asked) and `.State.Running` on the second (nothing when the container is
 * gone). A start needs no separate address lookup, and a crashed release fails fast.
 */
export const healthProbe = (container: string, network: string, port: number, path: string, timeoutSeconds = 2): string[] =>
  shScript(
    `r=$(docker inspect --format "{{.State.Running}} {{(index .NetworkSettings.Networks \\"$2\\").IPAddress}}" "$1" 2>/dev/null); run=\${r%% *}; ip=\${r#* }; s=000; if [ "$run" = true ] && [ -n "$ip" ] && [ "$ip" != '<no value>' ]; then s=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time "$5" "http://$ip:$3$4"); fi; echo "$s"; echo "$run"`,
    container,
    network,
    String(port),
    path,
    String(timeoutSeconds),
  );

/**
 * Record a switch in one round trip: write `current.json` atomically, then append the release
 * record (same order as two separate writes: current first).
 */
export function recordSwitch(currentFile: string, currentJson: string, releasesLog: string, recordLine: string): string[] {
  if (currentJson.includes('\n') || recordLine.includes('\n')) throw new Error('recordSwitch: records must be single lines');
  return shScript(
    `mkdir -p "$(dirname "$1")" "$(dirname "$3")" && umask 077 && printf '%s\\n' "$2" > "$1.tmp" && chmod 0644 "$1.tmp" && mv "$1.tmp" "$1" && printf '%s\\n' "$4" >> "$3"`,
    currentFile,
    currentJson,
    releasesLog,
    recordLine,
  );
}

/**
 * HTTP GET returning the status code only (health checks and smoke tests run on the host). An
 * https URL is the host's own proxy on 127.0.0.1: its certificate names the public hosts, not
 * 127.0.0.1, so it is not checked here (`pier certs status` checks it).
 */
export const httpStatus = (url: string, timeoutSeconds = 3): string[] => [
  'curl', '--silent', ...(url.startsWith('https:') ? ['--insecure'] : []), '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', String(timeoutSeconds), url,
];

/**
 * Write stdin as the app's one env file (0600, atomic) and delete every other `*.env` in its
 * directory: the per-release files older pier versions left behind.
 */
export function writeEnvFile(file: string): string[] {
  return shScript(
    `mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod 0600 "$1.tmp" && mv "$1.tmp" "$1" && find "$(dirname "$1")" -maxdepth 1 -name '*.env' ! -path "$1" -exec rm -f {} +`,
    file,
  );
}

/** Remove a file if present. */
export const removeFile = (file: string): string[] => ['rm', '-f', file];

/** HTTP GET printing the body (at most 4 KiB; bounded in time): an ACME challenge answer. */
export const httpBody = (url: string, timeoutSeconds = 3): string[] => ['curl', '--silent', '--max-time', String(timeoutSeconds), '--max-filesize', '4096', url];
