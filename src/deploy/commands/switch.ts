/**
 * A host's switch to a release as ONE host-side step (one SSH round trip instead of five on the
 * deploy's and rollback's critical path): optionally one health probe of the target, the
 * access-log mark, the proxy config write + `nginx -t` + graceful reload, the smoke test through
 * the proxy, the records, and optionally the old release's stop timer. Each part is the same
 * shell as its single-step builder: the reload and the timer are shared with them; the health
 * probe, log mark and record writes are copies on named variables instead of $1..$N (the tests in
 * round-trips.test.ts run this script for real). The script stops at the first part that fails,
 * with an exit code that says which (SWITCH_EXIT), so the caller knows exactly what changed.
 */
import { shScript } from './shell.ts';
import { NGINX_TEST_AND_RELOAD } from './docker.ts';
import { retireTimer } from './retire.ts';

/** Exit codes of the switch step: which part stopped it (what ran before it stands). */
export const SWITCH_EXIT = {
  /** The target did not answer 200: nothing changed. */
  unhealthy: 10,
  /** Writing the config or reloading the proxy failed: the config on disk may be new, nginx may not serve it. */
  proxy: 11,
  /** The proxy serves the new config but the smoke path did not answer 200. */
  smoke: 12,
  /** Traffic is on the target, the records could not be written. */
  records: 13,
} as const;

export interface SwitchStep {
  /** Probe this container's health first (a retained release still running); omitted: known healthy. */
  health?: { container: string; network: string; port: number; path: string; timeoutSeconds: number };
  /** The rotating access log whose end is printed before the switch (the bake's cursor). */
  accessLog: string;
  conf: { file: string; proxyContainer: string };
  /** Requested through the proxy up to `tries` times, 100 ms apart. */
  smoke: { url: string; tries: number; timeoutSeconds: number };
  /** current.json and the releases log line (single lines). */
  record: { currentFile: string; currentJson: string; releasesLog: string; recordLine: string };
  /** The release left behind: stopped host-side after `afterSeconds` unless it serves again (commands/retire.ts). */
  stopLater?: { container: string; afterSeconds: number; lockDir: string };
}

// Positional parameters, in this order (the script never contains a value).
const SCRIPT = [
  'hc=$1 net=$2 port=$3 hpath=$4 htime=$5 log=$6 conf=$7 proxy=$8 surl=$9; shift 9',
  'stries=$1 stime=$2 cur=$3 curjson=$4 rel=$5 relline=$6 stopc=$7 stopafter=$8 lockdir=$9',
  'if [ -n "$hc" ]; then',
  '  r=$(docker inspect --format "{{.State.Running}} {{(index .NetworkSettings.Networks \\"$net\\").IPAddress}}" "$hc" 2>/dev/null); run=${r%% *}; ip=${r#* }; s=000',
  `  if [ "$run" = true ] && [ -n "$ip" ] && [ "$ip" != '<no value>' ]; then s=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time "$htime" "http://$ip:$port$hpath"); fi`,
  `  echo "@health $s $run"; [ "$s" = 200 ] || exit ${SWITCH_EXIT.unhealthy}`,
  'fi',
  `m=; for p in "$log" "$log.1"; do if [ -f "$p" ]; then m=$(stat -c '%i %s' "$p"); break; fi; done; echo "@mark $m"`,
  `{ mkdir -p "$(dirname "$conf")" && umask 077 && cat > "$conf.tmp" && chmod 0644 "$conf.tmp" && mv "$conf.tmp" "$conf" && docker exec "$proxy" sh -c '${NGINX_TEST_AND_RELOAD}'; } || exit ${SWITCH_EXIT.proxy}`,
  'echo @switched',
  'k=0; insecure=; case "$surl" in https:*) insecure=--insecure;; esac',
  `while :; do s=$(curl --silent $insecure --output /dev/null --write-out '%{http_code}' --max-time "$stime" "$surl"); [ "$s" = 200 ] && break; k=$((k+1)); if [ "$k" -ge "$stries" ]; then echo "@smoke $s"; exit ${SWITCH_EXIT.smoke}; fi; sleep 0.1; done`,
  'echo "@smoke 200"',
  `{ mkdir -p "$(dirname "$cur")" "$(dirname "$rel")" && umask 077 && printf '%s\\n' "$curjson" > "$cur.tmp" && chmod 0644 "$cur.tmp" && mv "$cur.tmp" "$cur" && printf '%s\\n' "$relline" >> "$rel"; } || exit ${SWITCH_EXIT.records}`,
  'echo @recorded',
  // The same timer as commands/retire.ts scheduleStop (after the records: it reads current.json).
  `if [ -n "$stopc" ]; then ${retireTimer('"$stopafter" "$stopc" "$cur" "$lockdir"')} echo @stop-scheduled; fi`,
].join('\n');

/** The switch step as argv; the proxy config goes on stdin. */
export function switchStep(s: SwitchStep): string[] {
  const { currentJson, recordLine } = s.record;
  if (currentJson.includes('\n') || recordLine.includes('\n')) throw new Error('switchStep: records must be single lines');
  const h = s.health;
  return shScript(
    SCRIPT,
    h?.container ?? '', h?.network ?? '', String(h?.port ?? ''), h?.path ?? '', String(h?.timeoutSeconds ?? ''),
    s.accessLog, s.conf.file, s.conf.proxyContainer, s.smoke.url,
    String(s.smoke.tries), String(s.smoke.timeoutSeconds),
    s.record.currentFile, currentJson, s.record.releasesLog, recordLine,
    s.stopLater?.container ?? '', String(Math.round(s.stopLater?.afterSeconds ?? 0)), s.stopLater?.lockDir ?? '',
  );
}

/** What the step printed: the health probe's answer, the log mark, and how far it got. */
export interface SwitchOutput {
  health?: { status: string; running: string };
  mark?: string;
  switched: boolean;
  smoke?: string;
  recorded: boolean;
  stopScheduled: boolean;
}

export function parseSwitchOutput(stdout: string): SwitchOutput {
  const out: SwitchOutput = { switched: false, recorded: false, stopScheduled: false };
  for (const line of stdout.split('\n').map((l) => l.trim())) {
    const [tag, a = '', b = ''] = line.split(' ');
    if (tag === '@health') out.health = { status: a, running: b };
    else if (tag === '@mark') out.mark = line.slice('@mark'.length).trim();
    else if (tag === '@switched') out.switched = true;
    else if (tag === '@smoke') out.smoke = a;
    else if (tag === '@recorded') out.recorded = true;
    else if (tag === '@stop-scheduled') out.stopScheduled = true;
  }
  return out;
}
