import { describe, expect, it } from 'vitest';
import { renderDeployTimeline, tickStep, trafficPerSecond } from '../../../src/report/deploy-timeline.ts';
import type { ProgressEvent } from '../../../src/deploy/progress.ts';

const events: ProgressEvent[] = [
  { host: 'web1', phase: 'pulling', t: 0.2 }, { host: 'web2', phase: 'pulling', t: 0.2 },
  { host: 'web1', phase: 'starting', t: 1.1 }, { host: 'web1', phase: 'healthy', t: 2.4 }, { host: 'web1', phase: 'switched', t: 2.6 },
  { host: 'web2', phase: 'starting', t: 2.8 }, { host: 'web2', phase: 'unhealthy', t: 6, detail: '503 <script>' },
  { host: 'web1', phase: 'rolling-back', t: 6.1 }, { host: 'web1', phase: 'rolled-back', t: 6.5 },
];

describe('deploy.html', () => {
  // Rendered inside each test: StrykerJS runs only the tests that execute a mutant.
  const page = () => renderDeployTimeline({ title: 'pier deploy v2 to production', ok: false, seconds: 7, events, traffic: trafficPerSecond([{ msec: 1000.5, status: 200 }, { msec: 1000.9, status: 502 }, { msec: 1003.2, status: 200 }, { msec: 1020, status: 200 }], 1_000_000, 7) });

  it('one lane per host, one segment per phase, in order, on a shared axis', () => {
    expect([...page().matchAll(/<g class="lane" data-host="([^"]+)"/g)].map((m) => m[1])).toEqual(['web1', 'web2']);
    expect([...page().matchAll(/data-phase="([^"]+)"/g)].map((m) => m[1])).toEqual(['pulling', 'starting', 'healthy', 'switched', 'rolling-back', 'rolled-back', 'pulling', 'starting', 'unhealthy']);
    expect([...page().matchAll(/<text class="axis"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual(['0s', '1s', '2s', '3s', '4s', '5s', '6s', '7s']);
    expect(page()).toContain('failed</span> in 7.0s');
  });

  it('traffic per second under the lanes; details are escaped', () => {
    expect([...page().matchAll(/<title>\+(\d+)s: (\d+) requests, (\d+) errors<\/title>/g)].map((m) => m.slice(1).map(Number))).toEqual([[0, 2, 1], [1, 0, 0], [2, 0, 0], [3, 1, 0], [4, 0, 0], [5, 0, 0], [6, 0, 0]]);
    expect(page()).toContain('3 requests, 1 errors through the proxies'); // the one at +20 s is after the deploy
    expect(page()).not.toContain('<script>');
    expect(page()).toContain('503 &lt;script&gt;');
  });

  it('without traffic the page says why', () => {
    const page = renderDeployTimeline({ title: 't', ok: true, seconds: 2, events: events.slice(0, 2), trafficNote: 'no traffic figures within 5s' });
    expect(page).toContain('— no traffic figures within 5s');
    expect(page).not.toContain('class="rps"');
  });

  it('axis steps stay readable at any span', () => {
    expect([3, 7, 25, 90, 600, 5000].map(tickStep)).toEqual([0.5, 1, 5, 10, 60, 600]);
  });
});
