/**
 * The `sh -c` scripts the simulated host knows how to carry out, as the exact text it was written
 * against. A script is recognised by comparing its text with these; `checkScripts()` compares them
 * with what the builder functions in src/deploy/commands/* produce today, so a changed script fails
 * loudly ("simulator out of date") instead of being silently mis-simulated.
 */
import * as host from '../../src/deploy/commands/host.ts';
import { pruneImages } from '../../src/deploy/commands/images.ts';
import { scheduleStop } from '../../src/deploy/commands/retire.ts';
import { switchStep } from '../../src/deploy/commands/switch.ts';
import { NGINX_TEST_AND_RELOAD } from '../../src/deploy/commands/docker.ts';

/** The proxy reload as the copies below were written; the scripts run NGINX_TEST_AND_RELOAD (the simulator carries out any reload the same way). */
const RELOAD_AS_COPIED = 'nginx -t -q && nginx -s reload';

/** The disk figures script (host.diskUsage), copied. */
const DISK_USAGE = "d=\"$1\"; while [ ! -d \"$d\" ]; do d=$(dirname \"$d\"); done; r=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null); for p in \"$d\" ${r:+\"$r\"}; do [ -d \"$p\" ] || continue; printf '%s %s %s\\n' \"$p\" \"$(df -Pk \"$p\" | awk 'NR==2 {print $4, $2}')\" \"$(df -Pi \"$p\" | awk 'NR==2 {print $4, $2, $6}')\"; done";
/** The image prune script (images.pruneImages), copied. */
const PRUNE_IMAGES = "mode=$1; n=$2; k=$3; shift 3; repos=; skip=\nwhile [ \"$n\" -gt 0 ]; do repos=\"$repos $1\"; n=$((n-1)); shift; done\nwhile [ \"$k\" -gt 0 ]; do skip=\"$skip /$1\"; k=$((k-1)); shift; done\nids=$(docker ps -aq --no-trunc) || exit 1\nused=\nif [ -n \"$ids\" ]; then used=$(docker inspect --format '{{.Name}} {{.Image}}' $ids) || exit 1; fi\nfor r in \"$@\"; do used=\"$used\n(protected) $(docker image inspect --format '{{.Id}}' \"$r\" 2>/dev/null)\"; done\nimages=$(docker image ls --digests --no-trunc --format '{{.ID}} {{.Repository}} {{.Tag}} {{.Digest}}') || exit 1\nrefs=$(printf '%s\\n' \"$images\" | REPOS=\"$repos\" SKIP=\"$skip\" USED=\"$used\" awk 'BEGIN { split(ENVIRON[\"REPOS\"], r); for (i in r) want[r[i]] = 1; split(ENVIRON[\"SKIP\"], s); for (i in s) gone[s[i]] = 1; n = split(ENVIRON[\"USED\"], u, \"\\n\"); for (i = 1; i <= n; i++) { split(u[i], f, \" \"); if (!(f[1] in gone)) keep[f[2]] = 1 } } ($2 in want) && !($1 in keep) { if ($3 != \"<none>\") print $1, $2 \":\" $3; if ($4 != \"<none>\") print $1, $2 \"@\" $4 }' | sort -u)\n[ -n \"$refs\" ] || exit 0\nsizes=$(docker image inspect --format '{{.Id}} {{.Size}}' $(printf '%s\\n' \"$refs\" | cut -d' ' -f1 | sort -u)) || exit 1\nprintf '%s\\n' \"$refs\" | while read -r id ref; do printf 'candidate %s %s %s\\n' \"$id\" \"$ref\" \"$(printf '%s\\n' \"$sizes\" | awk -v id=\"$id\" '$1 == id { print $2 }')\"; done\n[ \"$mode\" = remove ] || exit 0\ndocker rmi $(printf '%s\\n' \"$refs\" | cut -d' ' -f2) 2>&1\nexit 0";

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
  logMark: "for p in \"$1\" \"$1.1\"; do if [ -f \"$p\" ]; then stat -c '%i %s' \"$p\"; exit 0; fi; done",
  readLogSince: "f=$1; shift; any=; last=0; fresh=; l=${f%/*}/.rotating; own=; t=0\nif [ -d \"${f%/*}\" ]; then while [ \"$t\" -lt 100 ]; do if mkdir \"$l\" 2>/dev/null; then own=1; break; fi; sleep 0.02; t=$((t+1)); done; fi\nfor n in 9 8 7 6 5 4 3 2 1 0; do p=$f; [ \"$n\" = 0 ] || p=$f.$n; [ -f \"$p\" ] || continue; i=$(stat -c %i \"$p\" 2>/dev/null) || continue; for k in \"$@\"; do [ \"${k%%:*}\" != \"$i\" ] || any=1; done; done\nfor n in 9 8 7 6 5 4 3 2 1 0; do p=$f; [ \"$n\" = 0 ] || p=$f.$n; [ -f \"$p\" ] || continue; {\n s=$(stat -L -c '%i %s' /dev/fd/3) || continue; i=${s% *}; size=${s#* }; start=; j=0; kj=0\n for k in \"$@\"; do j=$((j+1)); if [ \"${k%%:*}\" = \"$i\" ]; then start=${k#*:}; kj=$j; fi; done\n if [ -n \"$fresh\" ]; then start=0\n elif [ -n \"$start\" ] && [ \"$kj\" -gt \"$last\" ] && [ \"$start\" -le \"$size\" ]; then last=$kj\n elif [ \"$last\" -gt 0 ] || [ -z \"$any\" ] || [ -n \"$start\" ]; then start=0; fresh=1\n else continue; fi\n printf '@pier-log %s %s %s\\n' \"$i\" \"$start\" \"$size\"\n tail -c +$((start+1)) <&3 | head -c $((size-start))\n printf '\\n'\n} 2>/dev/null 3<\"$p\"; done\n[ -z \"$own\" ] || rmdir \"$l\"",
  diskUsage: DISK_USAGE,
  pruneImages: PRUNE_IMAGES,
  writeEnvFile: "mkdir -p \"$(dirname \"$1\")\" && umask 077 && cat > \"$1.tmp\" && chmod 0600 \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && find \"$(dirname \"$1\")\" -maxdepth 1 -name '*.env' ! -path \"$1\" -exec rm -f {} +",
  healthProbe: "r=$(docker inspect --format \"{{.State.Running}} {{(index .NetworkSettings.Networks \\\"$2\\\").IPAddress}}\" \"$1\" 2>/dev/null); run=${r%% *}; ip=${r#* }; s=000; if [ \"$run\" = true ] && [ -n \"$ip\" ] && [ \"$ip\" != '<no value>' ]; then s=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time \"$5\" \"http://$ip:$3$4\"); fi; echo \"$s\"; echo \"$run\"",
  recordSwitch: "mkdir -p \"$(dirname \"$1\")\" \"$(dirname \"$3\")\" && umask 077 && printf '%s\\n' \"$2\" > \"$1.tmp\" && chmod 0644 \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && printf '%s\\n' \"$4\" >> \"$3\"",
  writeProxyConf: "mkdir -p \"$(dirname \"$1\")\" && umask 077 && cat > \"$1.tmp\" && chmod 0644 \"$1.tmp\" && mv \"$1.tmp\" \"$1\" && docker exec \"$2\" sh -c 'nginx -t -q && nginx -s reload'".replace(RELOAD_AS_COPIED, NGINX_TEST_AND_RELOAD),
  scheduleStop: "nohup sh -c 'sleep \"$1\"; i=0; while [ -d \"$4\" ] && [ \"$i\" -lt 600 ]; do sleep 1; i=$((i+1)); done; grep -qF \"\\\"container\\\":\\\"$2\\\"\" \"$3\" 2>/dev/null || docker stop --time 10 \"$2\"' pier-retire \"$1\" \"$2\" \"$3\" \"$4\" >/dev/null 2>&1 </dev/null &",
  // Carried out as its parts (test/sim/fleet.ts execSwitchStep), each a command of its own for faults.
  switchStep: "hc=$1 net=$2 port=$3 hpath=$4 htime=$5 log=$6 conf=$7 proxy=$8 surl=$9; shift 9\nstries=$1 stime=$2 cur=$3 curjson=$4 rel=$5 relline=$6 stopc=$7 stopafter=$8 lockdir=$9\nif [ -n \"$hc\" ]; then\n  r=$(docker inspect --format \"{{.State.Running}} {{(index .NetworkSettings.Networks \\\"$net\\\").IPAddress}}\" \"$hc\" 2>/dev/null); run=${r%% *}; ip=${r#* }; s=000\n  if [ \"$run\" = true ] && [ -n \"$ip\" ] && [ \"$ip\" != '<no value>' ]; then s=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time \"$htime\" \"http://$ip:$port$hpath\"); fi\n  echo \"@health $s $run\"; [ \"$s\" = 200 ] || exit 10\nfi\nm=; for p in \"$log\" \"$log.1\"; do if [ -f \"$p\" ]; then m=$(stat -c '%i %s' \"$p\"); break; fi; done; echo \"@mark $m\"\n{ mkdir -p \"$(dirname \"$conf\")\" && umask 077 && cat > \"$conf.tmp\" && chmod 0644 \"$conf.tmp\" && mv \"$conf.tmp\" \"$conf\" && docker exec \"$proxy\" sh -c 'nginx -t -q && nginx -s reload'; } || exit 11\necho @switched\nk=0; insecure=; case \"$surl\" in https:*) insecure=--insecure;; esac\nwhile :; do s=$(curl --silent $insecure --output /dev/null --write-out '%{http_code}' --max-time \"$stime\" \"$surl\"); [ \"$s\" = 200 ] && break; k=$((k+1)); if [ \"$k\" -ge \"$stries\" ]; then echo \"@smoke $s\"; exit 12; fi; sleep 0.1; done\necho \"@smoke 200\"\n{ mkdir -p \"$(dirname \"$cur\")\" \"$(dirname \"$rel\")\" && umask 077 && printf '%s\\n' \"$curjson\" > \"$cur.tmp\" && chmod 0644 \"$cur.tmp\" && mv \"$cur.tmp\" \"$cur\" && printf '%s\\n' \"$relline\" >> \"$rel\"; } || exit 13\necho @recorded\nif [ -n \"$stopc\" ]; then nohup sh -c 'sleep \"$1\"; i=0; while [ -d \"$4\" ] && [ \"$i\" -lt 600 ]; do sleep 1; i=$((i+1)); done; grep -qF \"\\\"container\\\":\\\"$2\\\"\" \"$3\" 2>/dev/null || docker stop --time 10 \"$2\"' pier-retire \"$stopafter\" \"$stopc\" \"$cur\" \"$lockdir\" >/dev/null 2>&1 </dev/null & echo @stop-scheduled; fi".replace(RELOAD_AS_COPIED, NGINX_TEST_AND_RELOAD),
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
    logMark: host.logMark('F')[2]!,
    readLogSince: host.readLogSince('F', [])[2]!,
    diskUsage: host.diskUsage('D')[2]!,
    pruneImages: pruneImages('list', { repos: ['r'], protect: [] })[2]!,
    writeEnvFile: host.writeEnvFile('F')[2]!,
    healthProbe: host.healthProbe('c', 'N', 1, '/p', 2)[2]!,
    recordSwitch: host.recordSwitch('F', '{}', 'R', '{}')[2]!,
    writeProxyConf: host.writeProxyConf('F', 'P')[2]!,
    scheduleStop: scheduleStop('c', 'F', 1, 'L')[2]!,
    switchStep: switchStep({ accessLog: 'F', conf: { file: 'F', proxyContainer: 'P' }, smoke: { url: 'u', tries: 1, timeoutSeconds: 1 }, record: { currentFile: 'F', currentJson: '{}', releasesLog: 'R', recordLine: '{}' } })[2]!,
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
