// `pier deploy --env-only` (issue 14: rotation) on the in-memory fleet: the release every host
// serves is restarted with the new env file by the same rollout (new container beside the old,
// health, switch), no image is pulled, and no env file stays on a host after any deploy.
import { describe, expect, it } from 'vitest';
import { deploy } from '../../../src/deploy/deploy.ts';
import { Progress } from '../../../src/deploy/progress.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { SimFleet } from '../../sim/fleet.ts';
import { withVirtualTime } from '../../sim/harness.ts';

const quiet = () => new Progress(() => undefined);
const serving = (fleet: SimFleet) => fleet.hosts.map((h) => Object.values(h.s.containers).filter((c) => c.running && c.labels['pier.app'] === 'api'));

describe('deploy --env-only', () => {
  it('rolls the new env out on the serving release, every host, same image, no pull; no env file left behind', () => withVirtualTime(async () => {
    const fleet = SimFleet.create(['h1', 'h2', 'h3'], ['v1', 'v2']);
    const first = fleet.target(fleet.process());
    first.envFileContent = 'API_TOKEN=old-token-1\n';
    expect((await deploy(first, { version: 'v1', progress: quiet() })).ok).toBe(true);
    const before = serving(fleet).map((cs) => cs.map((c) => ({ name: c.name, image: c.image })));
    for (const h of fleet.hosts) expect(Object.keys(h.s.files).filter((f) => f.endsWith('.env')), h.name).toEqual([]);

    const rotate = fleet.target(fleet.process());
    rotate.envFileContent = 'API_TOKEN=new-token-2\n';
    const r = await deploy(rotate, { version: 'ignored', envOnly: true, progress: quiet() });
    expect(r.ok, r.error).toBe(true);
    expect(r.version).toBe('v1');
    expect(r.hosts.map((h) => h.status)).toEqual(['deployed', 'deployed', 'deployed']);
    // The old container drains and is stopped by the host-side timer, not by the deploy.
    for (const h of fleet.hosts) expect(h.s.scheduled.map((t) => t.container), h.name).toEqual([before[fleet.hosts.indexOf(h)]![0]!.name]);
    for (const h of fleet.hosts) h.elapse();
    serving(fleet).forEach((cs, i) => {
      expect(cs).toHaveLength(1);
      expect(cs[0]!.env).toBe('API_TOKEN=new-token-2\n');
      expect(cs[0]!.name).not.toBe(before[i]![0]!.name); // a new container...
      expect(cs[0]!.image).toBe(before[i]![0]!.image); // ...of the very same image
    });
    for (const h of fleet.hosts) expect(Object.keys(h.s.files).filter((f) => f.endsWith('.env')), h.name).toEqual([]);
    expect(fleet.violations).toEqual([]);
    expect(fleet.unknown).toEqual([]);
  }));

  it('refuses (exit 2) when the hosts serve different releases or none', () => withVirtualTime(async () => {
    const fleet = SimFleet.create(['h1', 'h2'], ['v1']);
    const e = await deploy(fleet.target(fleet.process()), { version: 'x', envOnly: true, progress: quiet() }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain('--env-only needs a release serving on every host; none on h1, h2');
  }));
});
