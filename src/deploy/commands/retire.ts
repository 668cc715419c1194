/** Host-side timer for blue/green: stop the previous release once its rollback window is over. */
import { shScript } from './shell.ts';

/**
 * Detached `sleep; docker stop` on the host, so the deploy does not wait out the window. The stop
 * is skipped when the container is serving again by then (a `pier rollback` within the window
 * rewrote current.json to it).
 */
export function scheduleStop(container: string, currentFile: string, afterSeconds: number): string[] {
  return shScript(
    `nohup sh -c 'sleep "$1"; grep -qF "\\"container\\":\\"$2\\"" "$3" 2>/dev/null || docker stop --time 10 "$2"' pier-retire "$1" "$2" "$3" >/dev/null 2>&1 </dev/null &`,
    String(Math.round(afterSeconds)),
    container,
    currentFile,
  );
}
