/**
 * Size-based rotation of the proxy's logs (access.log, error.log in pier's log directory), done on
 * the host without pier: hosts go months between deploys and pier has no agent there. A small loop
 * runs inside the proxy container beside nginx (started by the container's command, so it comes
 * back with the container after a host restart). Every `checkSeconds` it looks at each log; one
 * over `maxSize` is renamed (`access.log` -> `access.log.1` -> `.2` ..., `maxFiles` files kept in
 * all) and nginx is told to reopen its logs (USR1: the master reopens, the workers switch files;
 * nothing is lost, unlike copy-and-truncate). nginx keeps appending to the renamed file until it
 * reopens, which readers handle (src/deploy/log-cursor.ts). The settings are read from
 * `rotate.conf` in the log directory at every round, so a deploy changes them without recreating
 * the proxy. Pure.
 */
import { MAX_ROTATED } from './host.ts';

/** proxy.logs resolved: bytes, files kept (the live one included), seconds between looks. */
export interface LogRotation {
  maxBytes: number;
  maxFiles: number;
  checkSeconds: number;
}

/** Defaults when no rotate.conf is there yet (a proxy started by an older pier writes none). */
export const DEFAULT_ROTATION: LogRotation = { maxBytes: 20 * 1024 * 1024, maxFiles: 5, checkSeconds: 30 };

/** The proxy's log directory inside its container (pier's `<deploy.dir>/logs` on the host). */
export const PROXY_LOG_DIR = '/var/log/pier';

/** The logs the loop rotates (nginx writes both; the error log is set in the proxy config). */
export const ROTATED_LOGS = ['access.log', 'error.log'] as const;

/** `10m`, `512k`, `1g`, `4096` -> bytes (1024 based, as Docker's json-file `max-size`). */
export function sizeBytes(size: string): number {
  const m = /^([1-9]\d*)([kmg]?)$/.exec(size);
  if (!m) throw new Error(`not a size: ${size} (expected a number with k, m or g, e.g. 20m)`);
  return Number(m[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2] as '' | 'k' | 'm' | 'g'];
}

/** Content of rotate.conf: one line, `<maxBytes> <maxFiles> <checkSeconds>`. */
export const rotateConf = (r: LogRotation): string => `${r.maxBytes} ${r.maxFiles} ${r.checkSeconds}\n`;

/**
 * The loop ($1: log directory, $2: the nginx master's pid). Settings that are not whole numbers
 * fall back to the defaults; files beyond `maxFiles` (left by a larger setting) go at a rotation.
 * It ends when nginx is gone (the signal fails) or with the container.
 */
export const ROTATE_LOOP = [
  'd=$1; master=$2',
  'while :; do',
  ` max=${DEFAULT_ROTATION.maxBytes}; files=${DEFAULT_ROTATION.maxFiles}; every=${DEFAULT_ROTATION.checkSeconds}`,
  ' [ ! -r "$d/rotate.conf" ] || read max files every < "$d/rotate.conf" || true',
  ` case "$max.$files.$every" in *[!0-9.]*|.*|*..*|*.) max=${DEFAULT_ROTATION.maxBytes}; files=${DEFAULT_ROTATION.maxFiles}; every=${DEFAULT_ROTATION.checkSeconds};; esac`,
  ` [ "$files" -ge 2 ] && [ "$files" -le ${MAX_ROTATED + 1} ] || files=${DEFAULT_ROTATION.maxFiles}`,
  ' r=',
  ` for f in ${ROTATED_LOGS.map((l) => `"$d/${l}"`).join(' ')}; do`,
  '  [ -f "$f" ] && [ $(wc -c < "$f") -gt "$max" ] || continue',
  // Renames under the readers' lock (host.ts readLogSince); one a reader left behind goes after 5 s.
  '  t=0; while ! mkdir "$d/.rotating" 2>/dev/null; do [ "$t" -lt 250 ] || { rmdir "$d/.rotating"; t=0; }; sleep 0.02; t=$((t+1)); done',
  '  n=$((files-1)); while [ "$n" -gt 1 ]; do [ ! -f "$f.$((n-1))" ] || mv -f "$f.$((n-1))" "$f.$n"; n=$((n-1)); done',
  '  mv -f "$f" "$f.1"; r=1; rmdir "$d/.rotating"',
  `  n=$files; while [ "$n" -le ${MAX_ROTATED} ]; do rm -f "$f.$n"; n=$((n+1)); done`,
  ' done',
  ' [ -z "$r" ] || kill -s USR1 "$master" || exit 0',
  ' sleep "$every" || exit 0',
  'done',
].join('\n');

/**
 * The proxy container's command: the loop in the background, then nginx in the foreground as the
 * container's main process (`exec`: the shell's pid, `$$`, becomes nginx's master, the pid the
 * loop signals). The official image's entrypoint passes a command that is not `nginx` through.
 */
export function proxyCommand(): string[] {
  return ['sh', '-c', `sh -c "$1" pier-rotate ${PROXY_LOG_DIR} "$$" & exec nginx -g 'daemon off;'`, 'pier-proxy', ROTATE_LOOP];
}
