/** Host-side timer: stop a release that no longer serves once its drain or rollback window is over. */
import { shScript } from './shell.ts';

/** How long a timer waits for a deploy lock held at its deadline before deciding anyway (seconds). */
export const RETIRE_LOCK_WAIT_S = 600;

/**
 * The detached timer as a line of a host script: `args` are four shell words (seconds, container,
 * current.json, lock dir); the combined switch step (switch.ts) starts the same timer.
 */
export function retireTimer(args: string): string {
  return `nohup sh -c 'sleep "$1"; i=0; while [ -d "$4" ] && [ "$i" -lt ${RETIRE_LOCK_WAIT_S} ]; do sleep 1; i=$((i+1)); done; grep -qF "\\"container\\":\\"$2\\"" "$3" 2>/dev/null || docker stop --time 10 "$2"' pier-retire ${args} >/dev/null 2>&1 </dev/null &`;
}

/**
 * Detached `sleep; docker stop` on the host, so the command that scheduled it does not wait out the
 * window (blue/green) or the drain (`pier rollback`). When the time is up while a deploy or rollback
 * holds the host's lock (`lockDir` exists), it waits for the lock to go (up to RETIRE_LOCK_WAIT_S),
 * so it never decides in the middle of a switch; then the stop is skipped when the container serves
 * again (current.json names it: a rollback within the window went back to it).
 */
export function scheduleStop(container: string, currentFile: string, afterSeconds: number, lockDir: string): string[] {
  return shScript(
    retireTimer('"$1" "$2" "$3" "$4"'),
    String(Math.round(afterSeconds)),
    container,
    currentFile,
    lockDir,
  );
}
