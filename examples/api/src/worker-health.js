// The worker role's health command (pier runs it with docker exec): exit 0 while the worker loop
// beats. WORKER_FAIL_HEALTH=1 makes it fail (a release whose worker never becomes healthy).
import { readFileSync } from 'node:fs';
import { HEARTBEAT_FILE, heartbeatFresh } from './worker-core.js';

let beat;
try {
  beat = Number(readFileSync(HEARTBEAT_FILE, 'utf8'));
} catch {
  beat = undefined;
}
process.exit(process.env.WORKER_FAIL_HEALTH === '1' || !heartbeatFresh(Date.now(), beat) ? 1 : 0);
