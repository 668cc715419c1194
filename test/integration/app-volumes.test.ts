/**
 * app.volumes on a real simulated fleet: the Flask fixture app keeps notes in SQLite under /data.
 * A note written through each host's proxy survives a deploy of the next release and a rollback
 * on that host; each host keeps its own copy (why pier init warns about multi-host state).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.ts';
import { rollback } from '../../src/deploy/rollback.ts';
import { Progress } from '../../src/deploy/progress.ts';
import type { DeployTarget } from '../../src/deploy/target.ts';
import { exec } from '../../src/util/exec.ts';
import { interpolationVars } from '../../src/config/load.ts';
import { deployTarget, writeProject, type Fleet } from '../helpers/fleet.ts';
import { startLoad } from '../helpers/load.ts';
import { repoRoot } from '../helpers/paths.ts';
import { useFleet } from '../helpers/use-fleet.ts';

const base = interpolationVars(repoRoot).PIER_DEBIAN_IMAGE ?? 'pier.local/debian:bookworm';
let fleet: Fleet;
let target: DeployTarget;
const quiet = () => new Progress(() => undefined);

/** Through one host's own proxy (curl inside the host): the request path a user's request takes. */
const viaHost = async (host: string, argv: string[]) => fleet.hostExec(host, ['curl', '-sS', '--max-time', '5', ...argv]);
const notesOn = async (host: string) => (JSON.parse(await viaHost(host, ['http://127.0.0.1:80/notes'])) as { text: string }[]).map((n) => n.text);

useFleet(
  { count: 2, alongside: () => [exec(['docker', 'buildx', 'build', '--load', '--quiet', '--build-arg', `BASE_IMAGE=${base}`, '-t', 'pier-test/notes:vol', join(repoRoot, 'test/fixtures/apps/python-flask')])] },
  async (f) => {
    fleet = f;
    for (const v of ['1.0.0', '1.0.1']) await fleet.push('pier-test/notes:vol', `pier-test/notes:${v}`);
    const config = writeProject(fleet, {
      app: 'notes',
      image: 'pier-test/notes',
      healthTimeoutSeconds: 120,
      env: { LOG_LEVEL: 'warn' },
      appSettings: { port: 8000, health: { path: '/healthz', timeoutSeconds: 30 }, volumes: [{ source: 'data', target: '/data' }] },
    });
    target = deployTarget(config);
  },
);

describe.sequential('app.volumes across releases', () => {
  it('1.0.0 mounts the named volume <app>-data; a note is written through each host\'s proxy', async () => {
    const r = await deploy(target, { version: '1.0.0', progress: quiet() });
    expect(r.ok, `${r.error}\n${r.logs ?? ''}`).toBe(true);
    for (const h of fleet.hosts) {
      const container = (await fleet.hostExec(h.name, ['docker', 'ps', '--filter', 'label=pier.app=notes', '--filter', 'label=pier.release=1.0.0', '--format', '{{.Names}}'])).trim();
      const mounts = await fleet.hostExec(h.name, ['docker', 'inspect', '--format', '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}', container]);
      expect(mounts.trim()).toBe('notes-data:/data');
      const created = JSON.parse(await viaHost(h.name, ['-X', 'POST', '-H', 'content-type: application/json', '-d', JSON.stringify({ text: `written on ${h.name}` }), 'http://127.0.0.1:80/notes']));
      expect(created).toMatchObject({ text: `written on ${h.name}` });
    }
  }, 600_000);

  it('deploying 1.0.1 under load keeps every host\'s notes, drops no request', async () => {
    const load = startLoad(fleet.lbPort, 30, { path: '/healthz' });
    const r = await deploy(target, { version: '1.0.1', progress: quiet() });
    const l = await load.stop();
    expect(r.ok, `${r.error}\n${r.logs ?? ''}`).toBe(true);
    expect(l.sent).toBeGreaterThan(50);
    expect(l.failures).toEqual([]);
    for (const h of fleet.hosts) {
      expect(JSON.parse(await viaHost(h.name, ['http://127.0.0.1:80/healthz'])).version).toBe('1.0.1');
      // Each host's own copy: the note written there, not the other host's.
      expect(await notesOn(h.name)).toEqual([`written on ${h.name}`]);
    }
  }, 600_000);

  it('a note written on 1.0.1 is still there after rolling back to 1.0.0', async () => {
    for (const h of fleet.hosts) await viaHost(h.name, ['-X', 'POST', '-H', 'content-type: application/json', '-d', JSON.stringify({ text: `1.0.1 on ${h.name}` }), 'http://127.0.0.1:80/notes']);
    const r = await rollback(target, { progress: quiet() });
    expect(r.ok, JSON.stringify(r.hosts)).toBe(true);
    for (const h of fleet.hosts) {
      expect(JSON.parse(await viaHost(h.name, ['http://127.0.0.1:80/healthz'])).version).toBe('1.0.0');
      expect(await notesOn(h.name)).toEqual([`written on ${h.name}`, `1.0.1 on ${h.name}`]);
    }
  }, 600_000);
});
