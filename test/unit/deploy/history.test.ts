/**
 * Rollback targets from recorded history: the scenarios of issue 11 ("Defects found" 1) and more,
 * replayed as the records pier writes (switchOver: deployed; recover: rolled-back; rollback).
 */
import { describe, expect, it } from 'vitest';
import { decideRollback, hostRollbackState, servedStack, type HostHistory } from '../../../src/deploy/history.ts';
import type { ReleaseEvent, ReleaseRecord } from '../../../src/deploy/records.ts';

/** A simulated host: applies pier's record-writing steps and keeps what docker would retain. */
class SimHost {
  records: ReleaseRecord[] = [];
  current?: { version: string; container: string; image: string };
  containers: { name: string; release: string }[] = [];
  private n = 0;
  constructor(readonly host: string) {}

  private rec(event: ReleaseEvent, to: { version: string; container: string; image: string }, from?: string) {
    this.current = to;
    this.records.push({ ...to, since: `t${this.records.length}`, by: 't', run: 'r', event, ...(from ? { from } : {}) });
  }
  /** Start a release (container created, no record: it has not served). */
  start(version: string): { version: string; container: string; image: string } {
    const c = { version, container: `app-${version}-${++this.n}`, image: `img@${version}` };
    this.containers.push({ name: c.container, release: version });
    return c;
  }
  /** A deploy that switched this host. */
  deploy(version: string): this {
    const from = this.current?.version;
    this.rec('deployed', this.start(version), from);
    return this;
  }
  /** Auto-rollback of a failed deploy: back to the container served before. */
  autoRollBack(to: { version: string; container: string; image: string }): this {
    this.rec('rolled-back', to, this.current?.version);
    return this;
  }
  /** Apply a decided rollback as `pier rollback` would (switchHostTo with event rollback). */
  rollbackTo(to: { version: string; container: string; image: string }): this {
    if (to.container !== this.current?.container) this.rec('rollback', to, this.current?.version);
    return this;
  }
  prune(container: string): this {
    this.containers = this.containers.filter((c) => c.name !== container);
    return this;
  }
  history(): HostHistory {
    return { host: this.host, current: this.current, records: this.records, retained: this.containers };
  }
}

const fleet = (...names: string[]) => names.map((n) => new SimHost(n));
const each = (hosts: SimHost[], fn: (h: SimHost) => void) => hosts.forEach(fn);

/** Decide and apply a rollback across the fleet; returns the decision. */
function rollBack(hosts: SimHost[], to?: string) {
  const d = decideRollback(
    hosts.map((h) => h.history()),
    to,
  );
  if (d.ok) for (const p of d.hosts) hosts.find((h) => h.host === p.host)!.rollbackTo(p.to);
  return d;
}
const serving = (hosts: SimHost[]) => hosts.map((h) => h.current?.version);

describe('rollback target from history (issue 11, defect 1)', () => {
  it('v1, v2, rollback, v3, rollback -> v1 (not v2, the release rolled back as bad)', () => {
    const hosts = fleet('web1', 'web2', 'web3');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    expect(rollBack(hosts)).toMatchObject({ ok: true, mode: 'previous', version: 'v1' });
    each(hosts, (h) => h.deploy('v3'));
    const d = rollBack(hosts);
    expect(d).toMatchObject({ ok: true, mode: 'previous', version: 'v1' });
    expect(serving(hosts)).toEqual(['v1', 'v1', 'v1']);
  });

  it('v1, v2, v3, two rollbacks in a row: v2 then v1, never forward to v3', () => {
    const hosts = fleet('web1', 'web2', 'web3');
    each(hosts, (h) => h.deploy('v1').deploy('v2').deploy('v3'));
    expect(rollBack(hosts)).toMatchObject({ ok: true, version: 'v2' });
    expect(rollBack(hosts)).toMatchObject({ ok: true, version: 'v1' });
    expect(serving(hosts)).toEqual(['v1', 'v1', 'v1']);
    // A third has nothing further back: refused, not a move forward.
    const third = rollBack(hosts);
    expect(third.ok).toBe(false);
    expect(serving(hosts)).toEqual(['v1', 'v1', 'v1']);
  });

  it('a deploy killed after v3 started on web1 but before any switch: v3 never served, never a target', () => {
    const hosts = fleet('web1', 'web2', 'web3');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    hosts[0]!.start('v3'); // container exists, newest, never switched: no record
    const d = rollBack(hosts);
    expect(d).toMatchObject({ ok: true, mode: 'previous', version: 'v1' });
    expect(serving(hosts)).toEqual(['v1', 'v1', 'v1']);
  });

  it('a deploy killed after web1 switched: web1 goes back to v2, web2 and web3 (never left v2) stay', () => {
    const hosts = fleet('web1', 'web2', 'web3');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    hosts[0]!.deploy('v3');
    hosts[1]!.start('v3'); // web2 had started v3 beside, not switched
    const d = rollBack(hosts);
    expect(d.ok && d.mode).toBe('converge');
    expect(d.ok && d.version).toBe('v2');
    expect(d.ok && d.hosts.map((h) => `${h.host}:${h.from?.version}->${h.to.version}`)).toEqual(['web1:v3->v2', 'web2:v2->v2', 'web3:v2->v2']);
    expect(serving(hosts)).toEqual(['v2', 'v2', 'v2']);
    // Each host's own state is there for the operator to see.
    expect(d.states.map((s) => `${s.host}:${s.current?.version}<-${s.previous?.version}`)).toEqual(['web1:v3<-v2', 'web2:v2<-v1', 'web3:v2<-v1']);
  });

  it('after an automatic rollback (bad v4 rolled back on web1, web2), a rollback goes to v1, not v4', () => {
    const hosts = fleet('web1', 'web2', 'web3');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    for (const h of hosts.slice(0, 2)) {
      const prev = h.current!;
      h.deploy('v4').autoRollBack(prev);
    }
    expect(rollBack(hosts)).toMatchObject({ ok: true, mode: 'previous', version: 'v1' });
  });

  it('rollback --to forward, then a plain rollback goes back to where --to left from', () => {
    const hosts = fleet('web1', 'web2');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    expect(rollBack(hosts, 'v1')).toMatchObject({ ok: true, mode: 'to', version: 'v1' });
    // v2 was left by a rollback, so it is no longer "before" anything; --to can still pick it.
    expect(rollBack(hosts, 'v2')).toMatchObject({ ok: true, mode: 'to', version: 'v2' });
    expect(serving(hosts)).toEqual(['v2', 'v2']);
    expect(rollBack(hosts)).toMatchObject({ ok: true, version: 'v1' });
  });

  it('--to a release that never served on a host is refused, naming the host', () => {
    const hosts = fleet('web1', 'web2');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    hosts[0]!.start('v3');
    const d = rollBack(hosts, 'v3');
    expect(d.ok).toBe(false);
    expect(!d.ok && d.reason).toMatch(/no retained release "v3" that served on web1, web2/);
  });

  it('a pruned previous release is skipped: the host goes further back', () => {
    const hosts = fleet('web1');
    hosts[0]!.deploy('v1').deploy('v2').deploy('v3');
    hosts[0]!.prune(hosts[0]!.records[1]!.container);
    expect(rollBack(hosts)).toMatchObject({ ok: true, version: 'v1' });
  });

  it('a re-run deploy of the same version (fresh container) is no step back: the previous version is', () => {
    const hosts = fleet('web1');
    hosts[0]!.deploy('v1').deploy('v2').deploy('v2');
    expect(servedStack(hosts[0]!.history()).map((s) => s.version)).toEqual(['v1', 'v2', 'v2']);
    expect(rollBack(hosts)).toMatchObject({ ok: true, version: 'v1' });
  });

  it('hosts disagreeing with no release that served on all of them: refused (ask for --to)', () => {
    const [a, b] = fleet('web1', 'web2');
    a!.deploy('v1').deploy('v2');
    b!.deploy('v5').deploy('v6');
    const d = rollBack([a!, b!]);
    expect(d.ok).toBe(false);
    expect(!d.ok && d.reason).toMatch(/disagree/);
  });

  it('a host added later (only the current release): no common earlier release, refused', () => {
    const [a, b] = fleet('web1', 'web2');
    a!.deploy('v1').deploy('v2');
    b!.deploy('v2');
    expect(rollBack([a!, b!]).ok).toBe(false);
  });

  it('a host with no history at all has nothing to go back to', () => {
    const d = decideRollback([{ host: 'web1', records: [], retained: [{ name: 'app-v1', release: 'v1' }] }]);
    expect(d.ok).toBe(false);
  });

  it('current.json ahead of the history (crash between the two writes) counts as serving', () => {
    const h = new SimHost('web1').deploy('v1').deploy('v2');
    const v3 = h.start('v3');
    const state = hostRollbackState({ ...h.history(), current: v3 });
    expect(state.current?.version).toBe('v3');
    expect(state.previous?.version).toBe('v2');
  });

  it('converging never moves a host forward, nor onto a release one host rolled back', () => {
    // web1 rolled v2 back by hand; then both got v3. web1 would go to v1, web2 to v2: they disagree.
    const hosts = fleet('web1', 'web2');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    hosts[0]!.rollbackTo(hosts[0]!.records[0]!);
    each(hosts, (h) => h.deploy('v3'));
    const d = rollBack(hosts);
    expect(d).toMatchObject({ ok: true, mode: 'converge', version: 'v1' });
    expect(serving(hosts)).toEqual(['v1', 'v1']);
  });

  it('hosts that agree go to their previous release even with different containers', () => {
    const hosts = fleet('web1', 'web2');
    each(hosts, (h) => h.deploy('v1').deploy('v2'));
    const d = decideRollback(hosts.map((h) => h.history()));
    expect(d.ok && d.hosts.map((h) => h.to.container)).toEqual([hosts[0]!.records[0]!.container, hosts[1]!.records[0]!.container]);
  });

  it('every sequence of deploys and rollbacks: the target always served, and is never the release just left', () => {
    // Exhaustive over short operation sequences on one host: d = deploy a new version, r = rollback.
    const ops = ['d', 'r'] as const;
    const sequences: string[][] = [[]];
    for (let len = 0; len < 7; len++) for (const s of [...sequences]) if (s.length === len) for (const o of ops) sequences.push([...s, o]);
    let checked = 0;
    for (const seq of sequences) {
      const h = new SimHost('web1');
      let v = 0;
      const left: string[] = [];
      for (const op of seq) {
        if (op === 'd') {
          h.deploy(`v${++v}`);
          continue;
        }
        const before = h.current;
        const d = decideRollback([h.history()]);
        if (!d.ok) continue;
        const to = d.hosts[0]!.to;
        const served = h.records.filter((r) => r.event === 'deployed').map((r) => r.container);
        expect(served).toContain(to.container);
        expect(left).not.toContain(to.container);
        // Always backwards: an older version than the one serving.
        expect(Number(to.version.slice(1))).toBeLessThan(Number(before!.version.slice(1)));
        left.push(before!.container);
        h.rollbackTo(to);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});
