// Live reload for the dev stack: run a command, restart it when a file under the watched
// directories changes. Polls (mtime + size) instead of inotify on purpose: `node --watch` watches
// each loaded file's inode, so an editor that saves by rename (vim, JetBrains "safe write") is
// seen once and then lost, and inotify does not cross some bind mounts (Docker Desktop VMs).
// Polling a few dozen files every 500 ms costs nothing and sees every kind of save.
//
//   node watch.mjs src migrations -- node src/server.js
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const sep = process.argv.indexOf('--');
const dirs = process.argv.slice(2, sep);
const command = process.argv.slice(sep + 1);
if (sep < 0 || !dirs.length || !command.length) {
  console.error('usage: node watch.mjs DIR... -- COMMAND...');
  process.exit(2);
}
const INTERVAL_MS = Number(process.env.WATCH_INTERVAL_MS ?? 500);
const STOP_GRACE_MS = 10_000;

/** path:mtime:size of every file under `dirs`, sorted: any save changes it. */
function signature() {
  const out = [];
  const walk = (dir) => {
    let entries = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // a directory vanishing mid-save is just a change
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        try {
          const s = statSync(p);
          out.push(`${p}:${s.mtimeMs}:${s.size}`);
        } catch {
          // removed between readdir and stat
        }
      }
    }
  };
  dirs.forEach(walk);
  return out.sort().join('\n');
}

let child;
let stopping = false;

function start() {
  child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
  const me = child;
  me.on('exit', (code, signal) => {
    if (me !== child || stopping) return;
    console.error(`[watch] ${command.join(' ')} exited (${signal ?? code}); waiting for a change to restart`);
    child = undefined;
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    proc.once('exit', () => (clearTimeout(timer), resolve()));
    proc.kill('SIGTERM');
  });
}

let seen = signature();
let pending; // a changed signature must hold for one interval (no half-written files loaded)
start();
const timer = setInterval(async () => {
  const now = signature();
  if (now === seen) return void (pending = undefined);
  if (now !== pending) return void (pending = now);
  seen = now;
  pending = undefined;
  console.error('[watch] change detected: restarting');
  const old = child;
  child = undefined;
  await stop(old);
  if (!stopping) start();
}, INTERVAL_MS);

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    stopping = true;
    clearInterval(timer);
    await stop(child);
    process.exit(0);
  });
}
