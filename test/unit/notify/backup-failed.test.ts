// backup.failed from a deploy whose pre-migration backup fails (on the simulated fleet, the real
// deploy code and notifier, a receiver on 127.0.0.1): deploy.started, backup.failed, deploy.failed,
// in that order, and the deploy fails as before with nothing migrated or switched.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/schema.ts';
import { Notify } from '../../../src/config/sections/notify.ts';
import { Progress } from '../../../src/deploy/progress.ts';
import { observedDeploy } from '../../../src/notify/observed-deploy.ts';
import { installVirtualClock, type VirtualClock } from '../../sim/clock.ts';
import { SimFleet } from '../../sim/fleet.ts';
import { HOSTS, seed } from '../../sim/harness.ts';

const received: { event: string; reason?: string; version?: string }[] = [];
const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    received.push(JSON.parse(data) as { event: string });
    res.writeHead(204).end();
  });
});
let clock: VirtualClock;
let start: Awaited<ReturnType<typeof seed>>;
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  clock = installVirtualClock();
  start = await seed();
});
afterAll(() => {
  clock.uninstall();
  server.closeAllConnections();
  server.close();
});

describe('a deploy whose pre-migration backup fails', () => {
  it('tells the receiver backup.failed (with the backup\'s error) between deploy.started and deploy.failed; nothing migrated or switched', async () => {
    const fleet = new SimFleet(start);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const config = { app: { name: 'api' }, env: { name: 'production', notify: [Notify.parse({ url })] } } as unknown as Config;
    const target = fleet.target(fleet.process(), {}, { migrate: ['npm', 'run', 'migrate'], config });
    const r = await observedDeploy(target, {
      version: 'v3', runId: 'bf1', progress: new Progress(() => undefined),
      beforeMigrate: async () => {
        throw new Error('pre-migration backup failed, refusing to migrate: pg_dump: connection to server on socket failed');
      },
    });
    expect(r.report.ok).toBe(false);
    expect(r.report.error).toMatch(/pre-migration backup failed/);
    expect(r.report.timeline.some((e) => e.phase === 'migrating' || e.phase === 'switched')).toBe(false);
    for (const name of HOSTS) expect(fleet.host(name).serving().map((s) => s.release)).toEqual(['v2']);
    expect(received.map((e) => e.event)).toEqual(['deploy.started', 'backup.failed', 'deploy.failed']);
    expect(received[1]).toMatchObject({ version: 'v3', reason: expect.stringMatching(/pg_dump: connection to server on socket failed/) });
    expect(r.warnings).toEqual([]);
  });
});
