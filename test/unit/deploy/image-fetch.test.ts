/** imageFetcher's ordering and digest rules, over in-memory hosts (the real pulls run in the deploy integration tests). */
import { describe, expect, it } from 'vitest';
import type { HostOps } from '../../../src/deploy/host-ops.ts';
import { imageFetcher } from '../../../src/deploy/image-fetch.ts';

interface FakeHost {
  name: string;
  /** Digest the tag resolves to on this host. */
  resolves: string;
  pullMs: number;
  failPull?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fake(h: FakeHost, events: string[]): HostOps {
  return {
    name: h.name,
    async pull(ref: string) {
      events.push(`${h.name} pull-start ${ref}`);
      await sleep(h.pullMs);
      if (h.failPull) throw new Error(`${h.name}: docker pull failed`);
      events.push(`${h.name} pull-end`);
      return `reg/app@${h.resolves}`;
    },
    async ensureImage(ref: string) {
      events.push(`${h.name} ensure ${ref}`);
    },
    async loadImage() {
      events.push(`${h.name} load`);
    },
  } as unknown as HostOps;
}

describe('imageFetcher', () => {
  it('starts every host pull at once; every host runs the first host digest', async () => {
    const events: string[] = [];
    const hosts = [
      fake({ name: 'web1', resolves: 'sha256:a', pullMs: 60 }, events),
      fake({ name: 'web2', resolves: 'sha256:a', pullMs: 10 }, events),
      fake({ name: 'web3', resolves: 'sha256:a', pullMs: 10 }, events),
    ];
    const fetch = imageFetcher(hosts, { kind: 'registry', ref: 'reg/app:v2' });
    const refs = await Promise.all(hosts.map(fetch));
    expect(refs).toEqual(['reg/app@sha256:a', 'reg/app@sha256:a', 'reg/app@sha256:a']);
    // All three pulls began before the slow first one ended: nothing waits on another host's pull.
    expect(events.slice(0, 3)).toEqual(['web1 pull-start reg/app:v2', 'web2 pull-start reg/app:v2', 'web3 pull-start reg/app:v2']);
    expect(events.filter((e) => e.includes('ensure'))).toEqual([]);
    // Memoised: asking again pulls nothing more.
    expect(await fetch(hosts[2]!)).toBe('reg/app@sha256:a');
    expect(events.filter((e) => e.includes('pull-start'))).toHaveLength(3);
  });

  it('a host whose tag resolved to other bytes (tag moved mid-pull) fetches the first host digest', async () => {
    const events: string[] = [];
    const hosts = [fake({ name: 'web1', resolves: 'sha256:a', pullMs: 5 }, events), fake({ name: 'web2', resolves: 'sha256:b', pullMs: 5 }, events)];
    const fetch = imageFetcher(hosts, { kind: 'registry', ref: 'reg/app:v2' });
    expect(await fetch(hosts[1]!)).toBe('reg/app@sha256:a');
    expect(events).toContain('web2 ensure reg/app@sha256:a');
  });

  it('when the first host cannot pull, every host fails with its error', async () => {
    const events: string[] = [];
    const hosts = [fake({ name: 'web1', resolves: 'sha256:a', pullMs: 5, failPull: true }, events), fake({ name: 'web2', resolves: 'sha256:a', pullMs: 5 }, events)];
    const fetch = imageFetcher(hosts, { kind: 'registry', ref: 'reg/app:v2' });
    const settled = await Promise.allSettled(hosts.map(fetch));
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : 'ok'))).toEqual(['web1: docker pull failed', 'web1: docker pull failed']);
  });

  it('streamed: loads the saved file on every host and runs the tag', async () => {
    const events: string[] = [];
    const hosts = [fake({ name: 'web1', resolves: '', pullMs: 0 }, events), fake({ name: 'web2', resolves: '', pullMs: 0 }, events)];
    const fetch = imageFetcher(hosts, { kind: 'stream', ref: 'app:v2', file: '/dev/null' });
    expect(await Promise.all(hosts.map(fetch))).toEqual(['app:v2', 'app:v2']);
    expect(events.sort()).toEqual(['web1 load', 'web2 load']);
  });
});
