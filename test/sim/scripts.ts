/**
 * The `sh -c` scripts the simulated host knows how to carry out, as the exact text it was written
 * against. A script is recognised by comparing its text with these; `checkScripts()` compares them
 * with what the builder functions in src/deploy/commands/* produce today, so a changed script fails
 * loudly ("simulator out of date") instead of being silently mis-simulated.
 */
import * as host from '../../src/deploy/commands/host.ts';
import { scheduleStop } from '../../src/deploy/commands/retire.ts';

/** Script text -> the simulator's name for it. Texts are JSON string literals copied from the builders. */
export const KNOWN_SCRIPTS = {
  acquireLock: "mkdir -p \"$(dirname \"$1\")\" && if mkdir \"$1\" 2>/dev/null; then printf '%s\\n' \"$2\" > \"$1/info.json\"; else cat \"$1/info.json\" 2>/dev/null; exit 75; fi",
  releaseLock: "[ ! -d \"$1\" ] || { grep -qF \"\\\"run\\\":\\\"$2\\\"\" \"$1/info.json\" 2>/dev/null && rm -rf \"$1\"; }",
  removeAndReleaseLock: "if [ -d \"$1\" ]; then grep -qF \"\\\"run\\\":\\\"$2\\\"\" \"$1/info.json\" 2>/dev/null || exit 1; fi; rm -f \"$3\" && rm -rf \"$1\"",
  readLock: "cat \"$1/info.json\" 2>/dev/null || true",
  appendLine: "mkdir -p \"$(dirname \"$1\")\" && umask 077 && printf '%s\\n' \"$2\" >> \"$1\"",
  writeFile: "mkdir -p \"$(dirname \"$1\")\" && umask 077 && cat > \"$1.tmp\" && chmod \"$2\" \"$1.tmp\" && mv \"$1.tmp\" \"$1\"",
  readFile: "cat \"$1\" 2>/dev/null || true",
  tailFile: "tail -n \"$2\" \"$1\" 2>/dev/null || true",
  fileSize: "stat -c %s \"$1\" 2>/dev/null || echo 0",
  readFrom: "tail -c +\"$2\" \"$1\" 2>/dev/null || true",
  freeKb: "d=\"$1\"; while [ ! -d \"$d\" ]; do d=$(dirname \"$d\"); done; df -Pk \"$d\" | awk 'NR==2 {print $4}'",
  writeEnvFile: "mkdir -p \"$(dirname \"$1\")\" && umask 077 && cat > \"$1.tmp\" && chmod 0600 \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && find \"$(dirname \"$1\")\" -maxdepth 1 -name '*.env' ! -path \"$1\" -exec rm -f {} +",
  healthProbe: "r=$(docker inspect --format \"{{.State.Running}} {{(index .NetworkSettings.Networks \\\"$2\\\").IPAddress}}\" \"$1\" 2>/dev/null); run=${r%% *}; ip=${r#* }; s=000; if [ \"$run\" = true ] && [ -n \"$ip\" ] && [ \"$ip\" != '<no value>' ]; then s=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time \"$5\" \"http://$ip:$3$4\"); fi; echo \"$s\"; echo \"$run\"",
  recordSwitch: "mkdir -p \"$(dirname \"$1\")\" \"$(dirname \"$3\")\" && umask 077 && printf '%s\\n' \"$2\" > \"$1.tmp\" && chmod 0644 \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && printf '%s\\n' \"$4\" >> \"$3\"",
  writeProxyConf: "mkdir -p \"$(dirname \"$1\")\" && umask 077 && cat > \"$1.tmp\" && chmod 0644 \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && docker exec \"$2\" sh -c 'nginx -t -q && nginx -s reload'",
  scheduleStop: "nohup sh -c 'sleep \"$1\"; i=0; while [ -d \"$4\" ] && [ \"$i\" -lt 600 ]; do sleep 1; i=$((i+1)); done; grep -qF \"\\\"container\\\":\\\"$2\\\"\" \"$3\" 2>/dev/null || docker stop --time 10 \"$2\"' pier-retire \"$1\" \"$2\" \"$3\" \"$4\" >/dev/null 2>&1 </dev/null &",
} as const;

export type ScriptName = keyof typeof KNOWN_SCRIPTS;

/** What each builder produces today (placeholder values: scripts never contain values). */
function builderTexts(): Record<ScriptName, string> {
  return {
    acquireLock: host.acquireLock('L', '{}')[2]!,
    releaseLock: host.releaseLock('L', 'r')[2]!,
    removeAndReleaseLock: host.removeAndReleaseLock('L', 'r', 'F')[2]!,
    readLock: host.readLock('L')[2]!,
    appendLine: host.appendLine('F', 'x')[2]!,
    writeFile: host.writeFile('F', '0600')[2]!,
    readFile: host.readFile('F')[2]!,
    tailFile: host.tailFile('F', 1)[2]!,
    fileSize: host.fileSize('F')[2]!,
    readFrom: host.readFrom('F', 0)[2]!,
    freeKb: host.freeKb('D')[2]!,
    writeEnvFile: host.writeEnvFile('F')[2]!,
    healthProbe: host.healthProbe('c', 'N', 1, '/p', 2)[2]!,
    recordSwitch: host.recordSwitch('F', '{}', 'R', '{}')[2]!,
    writeProxyConf: host.writeProxyConf('F', 'P')[2]!,
    scheduleStop: scheduleStop('c', 'F', 1, 'L')[2]!,
  };
}

/** Names of scripts whose builder output differs from the text the simulator implements. */
export function staleScripts(): ScriptName[] {
  const now = builderTexts();
  return (Object.keys(KNOWN_SCRIPTS) as ScriptName[]).filter((k) => now[k] !== KNOWN_SCRIPTS[k]);
}

const byText = new Map<string, ScriptName>(Object.entries(KNOWN_SCRIPTS).map(([k, v]) => [v, k as ScriptName]));

/** The simulator's name of a script text, or undefined (the caller throws: unknown command). */
export function scriptName(text: string): ScriptName | undefined {
  return byText.get(text);
}
