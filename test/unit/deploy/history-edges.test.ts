// Rollback targets from hand-written records: records pier skips, a repeated deploy record,
// current.json back on an older release, `--to` on hosts already there, the messages.
import { describe, expect, it } from 'vitest';
import { decideRollback, describeStates, hostRollbackState, servedStack, type HostHistory } from '../../../src/deploy/history.ts';
import type { ReleaseEvent, ReleaseRecord } from '../../../src/deploy/records.ts';

const rel = (version: string, n = 1) => ({ version, container: `api-${version}-${n}`, image: `img@${version}` });
const rec = (event: ReleaseEvent, r: { version: string; container: string; image: string }): ReleaseRecord => ({ ...r, since: 't', by: 'b', run: 'r', event });
const hostOf = (host: string, records: ReleaseRecord[], current = records.at(-1), retained = records.map((r) => ({ name: r.container, release: r.version }))): HostHistory => ({
  host,
  ...(current ? { current: { version: current.version, container: current.container, image: current.image } } : {}),
  records,
  retained,
});

describe('served stack', () => {
  it('skips records without a version or container; a repeated deploy record of the serving container counts once', () => {
    const records = [rec('deployed', rel('v1')), rec('deployed', { ...rel('v2'), container: '' }), rec('deployed', { ...rel('v3'), version: '' }), rec('deployed', rel('v4')), rec('deployed', rel('v4'))];
    expect(servedStack({ records }).map((s) => s.version)).toEqual(['v1', 'v4']);
    expect(servedStack({ records })[1]).toEqual({ version: 'v4', container: 'api-v4-1', image: 'img@v4' });
  });

  it('a deploy record pushes even a container that served before; a repeated record of the top one counts once, whatever the depth', () => {
    const records = [rec('deployed', rel('v1')), rec('deployed', rel('v2')), rec('deployed', rel('v3')), rec('deployed', rel('v3')), rec('deployed', rel('v1'))];
    expect(servedStack({ records }).map((s) => s.version)).toEqual(['v1', 'v2', 'v3', 'v1']);
    // current.json naming the top of a deep stack changes nothing.
    const three = records.slice(0, 3);
    expect(servedStack({ records: three, current: rel('v3') }).map((s) => s.version)).toEqual(['v1', 'v2', 'v3']);
  });

  it('a rollback record to a release on the stack drops what was above it; to one not on it moves forward', () => {
    const back = [rec('deployed', rel('v1')), rec('deployed', rel('v2')), rec('deployed', rel('v3')), rec('rolled-back', rel('v1'))];
    expect(servedStack({ records: back }).map((s) => s.version)).toEqual(['v1']);
    const forward = [rec('deployed', rel('v1')), rec('rollback', rel('v9'))];
    expect(servedStack({ records: forward }).map((s) => s.version)).toEqual(['v1', 'v9']);
  });

  it('current.json naming an older release on the stack (crash before its record) cuts the stack there', () => {
    const records = [rec('deployed', rel('v1')), rec('deployed', rel('v2')), rec('deployed', rel('v3'))];
    expect(servedStack({ records, current: rel('v1') }).map((s) => s.version)).toEqual(['v1']);
    expect(servedStack({ records, current: rel('v4') }).map((s) => s.version)).toEqual(['v1', 'v2', 'v3', 'v4']);
    expect(servedStack({ records, current: { ...rel('v5'), container: '' } }).map((s) => s.version)).toEqual(['v1', 'v2', 'v3']);
  });
});

describe('previous release per host', () => {
  it('the newest retained release before the current one, of another version', () => {
    const records = [rec('deployed', rel('v1')), rec('deployed', rel('v2')), rec('deployed', rel('v3', 1)), rec('deployed', rel('v3', 2))];
    const s = hostRollbackState(hostOf('web1', records));
    expect(s.current?.container).toBe('api-v3-2');
    expect(s.previous?.version).toBe('v2');
    const pruned = hostRollbackState(hostOf('web1', records, records.at(-1), [{ name: 'api-v1-1', release: 'v1' }]));
    expect(pruned.previous?.version).toBe('v1');
    const none = hostRollbackState(hostOf('web1', records, records.at(-1), []));
    expect(none.previous).toBeUndefined();
  });

  it('describes each host, with what it lacks', () => {
    const states = [hostRollbackState(hostOf('web1', [rec('deployed', rel('v1')), rec('deployed', rel('v2'))])), hostRollbackState(hostOf('web2', [rec('deployed', rel('v1'))])), hostRollbackState(hostOf('web3', []))];
    expect(describeStates(states)).toEqual([
      'web1: serving v2, before that v1',
      'web2: serving v1, before that (nothing retained)',
      'web3: serving (nothing recorded), before that (nothing retained)',
    ]);
  });
});

describe('fleet decision', () => {
  it('--to: hosts already on it stay; the others go to their newest retained container of it', () => {
    const web1 = hostOf('web1', [rec('deployed', rel('v1', 1)), rec('deployed', rel('v2')), rec('deployed', rel('v1', 2)), rec('deployed', rel('v3'))]);
    const web2 = hostOf('web2', [rec('deployed', rel('v1', 5))]);
    const d = decideRollback([web1, web2], 'v1');
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.mode).toBe('to');
    expect(d.version).toBe('v1');
    expect(d.hosts.map((h) => [h.host, h.from?.container, h.to.container])).toEqual([
      ['web1', 'api-v3-1', 'api-v1-2'],
      ['web2', 'api-v1-5', 'api-v1-5'],
    ]);
  });

  it('--to the version a host serves: it stays on its current container, even one its listing does not show', () => {
    const web1 = hostOf('web1', [rec('deployed', rel('v1', 1)), rec('deployed', rel('v2'))]);
    // web2 serves v1 from api-v1-3; the listing shows only an older start of v1.
    const web2 = hostOf('web2', [rec('deployed', rel('v1', 2)), rec('deployed', rel('v1', 3))], undefined, [{ name: 'api-v1-2', release: 'v1' }]);
    const d = decideRollback([web1, web2], 'v1');
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.hosts.map((h) => [h.host, h.from?.container, h.to.container])).toEqual([
      ['web1', 'api-v2-1', 'api-v1-1'],
      ['web2', 'api-v1-3', 'api-v1-3'],
    ]);
  });

  it('--to a release retained on one host only is refused naming the others', () => {
    const web1 = hostOf('web1', [rec('deployed', rel('v1')), rec('deployed', rel('v2'))]);
    const web2 = hostOf('web2', [rec('deployed', rel('v1')), rec('deployed', rel('v2'))], undefined, [{ name: 'api-v2-1', release: 'v2' }]);
    const web3 = hostOf('web3', [rec('deployed', rel('v2'))]);
    const d = decideRollback([web1, web2, web3], 'v1');
    expect(d).toMatchObject({ ok: false, reason: 'no retained release "v1" that served on web2, web3' });
  });

  it('hosts that disagree converge on the newest common release that not every host serves already', () => {
    // web1: v1 v2 v3 (previous v2); web2: v1 v3 (previous v1). v3 is what both serve already, so
    // the newest common release to go to is v1.
    const web1 = hostOf('web1', [rec('deployed', rel('v1')), rec('deployed', rel('v2')), rec('deployed', rel('v3'))]);
    const web2 = hostOf('web2', [rec('deployed', rel('v1')), rec('deployed', rel('v3'))]);
    const d = decideRollback([web1, web2]);
    expect(d).toMatchObject({ ok: true, mode: 'converge', version: 'v1' });
    if (!d.ok) return;
    expect(d.hosts.map((h) => [h.host, h.from?.version, h.to.version])).toEqual([
      ['web1', 'v3', 'v1'],
      ['web2', 'v3', 'v1'],
    ]);
  });

  it('converging keeps a host that already serves the common release where it is', () => {
    // web1 serves v2 (previous v1); web2 rolled back to v1 (nothing before it): they disagree,
    // v1 served on both; web1 goes to v1, web2 stays on its own v1 container.
    const web1 = hostOf('web1', [rec('deployed', rel('v1')), rec('deployed', rel('v2'))]);
    const web2 = hostOf('web2', [rec('deployed', rel('v1', 3)), rec('deployed', rel('v2', 3)), rec('rolled-back', rel('v1', 3))]);
    const d = decideRollback([web1, web2]);
    expect(d).toMatchObject({ ok: true, mode: 'converge', version: 'v1' });
    if (!d.ok) return;
    expect(d.hosts.map((h) => [h.host, h.to.container])).toEqual([
      ['web1', 'api-v1-1'],
      ['web2', 'api-v1-3'],
    ]);
  });

  it('converging picks the newest container of the common release on each host', () => {
    const web1 = hostOf('web1', [rec('deployed', rel('v1', 1)), rec('deployed', rel('v2')), rec('deployed', rel('v1', 2)), rec('deployed', rel('v3'))]);
    const web2 = hostOf('web2', [rec('deployed', rel('v1', 7)), rec('deployed', rel('v2', 7)), rec('deployed', rel('v3', 7))]);
    const d = decideRollback([web1, web2]);
    expect(d).toMatchObject({ ok: true, mode: 'converge', version: 'v1' });
    if (!d.ok) return;
    expect(d.hosts.map((h) => h.to.container)).toEqual(['api-v1-2', 'api-v1-7']);
  });

  it('no hosts: nothing to decide, refused', () => {
    expect(decideRollback([])).toMatchObject({ ok: false, reason: 'the hosts disagree and no release that served on all of them is retained' });
  });
});
