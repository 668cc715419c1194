// deploy.html's geometry and wording at the edges (mutation testing's survivors): where a phase is
// drawn and how wide, lane order by host number, tick steps at their limits, traffic buckets at
// the deploy's ends, the error-rate scale, escaping, singular/plural.
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../../src/deploy/progress.ts';
import { renderDeployTimeline, tickStep, trafficPerSecond } from '../../../src/report/deploy-timeline.ts';

// The plot runs from x=110 to x=880 (770 px) whatever the span; a lane is 26 px, lanes start at y=30.
const events: ProgressEvent[] = [
  { host: 'web10', phase: 'pulling', t: 0 },
  { host: 'web2', phase: 'starting', t: 2, detail: 'a "b" & c' },
  { host: 'web10', phase: 'healthy', t: 5 },
  { host: 'web10', phase: 'rollback-plan', t: 9.99 },
];
const rects = (html: string) => [...html.matchAll(/<rect class="phase" data-phase="([^"]+)" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)" fill="([^"]+)">/g)].map((m) => m.slice(1).join(' '));

describe('lanes and phases', () => {
  // Rendered inside each test: StrykerJS runs only the tests that execute a mutant.
  const page = () => renderDeployTimeline({ title: 'deploy <v2> & "x"', ok: false, seconds: 10, events });

  it('lanes by host number (web2 before web10); each phase from its time to the next one (the last to the end), at least 2 px', () => {
    expect([...page().matchAll(/<g class="lane" data-host="([^"]+)"><text class="host" x="([^"]+)" y="([^"]+)" text-anchor="end">/g)].map((m) => m.slice(1).join(' '))).toEqual(['web2 102 47', 'web10 102 73']);
    expect(rects(page())).toEqual([
      'starting 264.0 33 616.0 20 #fde68a',
      'pulling 110.0 59 385.0 20 #93c5fd',
      'healthy 495.0 59 384.2 20 #86efac',
      'rollback-plan 879.2 59 2.0 20 #fca5a5',
    ]);
    expect(page()).toContain('<rect class="lane-bg" x="110" y="33" width="770" height="20"/>');
  });
  it('a label only where the segment is wide enough for it', () => {
    expect([...page().matchAll(/<text class="label" x="([^"]+)" y="([^"]+)">([^<]+)</g)].map((m) => m.slice(1).join(' '))).toEqual(['267.0 47 starting', '113.0 73 pulling', '498.0 73 healthy']);
  });
  it('the hover text: host, phase, time and detail, escaped; the title escaped', () => {
    expect(page()).toContain('<title>web2 starting at +2.00s: a &quot;b&quot; &amp; c</title>');
    expect(page()).toContain('<title>web10 pulling at +0.00s</title>');
    expect(page()).toContain('<title>deploy &lt;v2&gt; &amp; &quot;x&quot;</title>');
    expect(page()).toContain('<h1>deploy &lt;v2&gt; &amp; &quot;x&quot; <span class="bad">failed</span> in 10.0s</h1>');
  });
  it('ticks every step from 0 to the end inclusive, across lanes and traffic; the picture sized to its lanes', () => {
    expect([...page().matchAll(/<text class="axis"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual(['0s', '1s', '2s', '3s', '4s', '5s', '6s', '7s', '8s', '9s', '10s']);
    expect(page()).toContain('<line class="tick" x1="110.0" y1="24" x2="110.0" y2="242"/>');
    expect(page()).toContain('<text class="axis" x="880.0" y="20" text-anchor="middle">10s</text>');
    expect(page()).toContain('width="900" height="282" viewBox="0 0 900 282"');
  });
  it('legend: each phase once in order of appearance, unknown phases grey; lanes counted', () => {
    expect(page()).toContain('<p class="legend"><span><i style="background:#93c5fd"></i>pulling</span><span><i style="background:#fde68a"></i>starting</span><span><i style="background:#86efac"></i>healthy</span><span><i style="background:#fca5a5"></i>rollback-plan</span></p>');
    const odd = renderDeployTimeline({ title: 't', ok: true, seconds: 1, events: [{ host: 'web1', phase: 'mystery' as ProgressEvent['phase'], t: 0 }] });
    expect(odd).toContain('fill="#d1d5db"');
    expect(odd).toContain('<p>1 host lane; no traffic figures</p>');
    expect(odd).toContain('<span class="ok">succeeded</span> in 1.0s');
    expect(page()).toContain('<p>2 host lanes; no traffic figures</p>');
    expect(page()).toContain('(blue, max 1) — not available</text>');
  });
  it('a label needs more than 46 px: a segment exactly 46 px wide has none', () => {
    // 770 s on 770 px: one second is one pixel.
    const labels = renderDeployTimeline({ title: 't', ok: true, seconds: 770, events: [{ host: 'h', phase: 'pulling', t: 0 }, { host: 'h', phase: 'starting', t: 46 }, { host: 'h', phase: 'healthy', t: 93 }] });
    expect(rects(labels).map((r) => r.split(' ').slice(0, 4).join(' '))).toEqual(['pulling 110.0 33 46.0', 'starting 156.0 33 47.0', 'healthy 203.0 33 677.0']);
    expect([...labels.matchAll(/<text class="label"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual(['starting', 'healthy']);
  });
  it('the picture: ticks first, each lane a closed group, parts one per line; no error line without traffic', () => {
    const html = page();
    expect(html).toContain('aria-label="deploy timeline">\n<line class="tick" x1="110.0" y1="24" x2="110.0" y2="242"/>\n<text class="axis" x="110.0" y="20" text-anchor="middle">0s</text>\n<line class="tick"');
    expect(html.match(/<g class="lane"/g)).toHaveLength(2);
    expect(html.match(/<\/g>/g)).toHaveLength(2);
    expect(html).toContain('>starting</text>\n</g>\n<g class="lane" data-host="web10">');
    expect(html).toContain('<rect class="lane-bg" x="110" y="122" width="770" height="120"/>\n</svg>');
    expect(html).not.toContain('<polyline');
  });
  it('the span is the longest of the deploy, its last event and 1 s', () => {
    const late = renderDeployTimeline({ title: 't', ok: true, seconds: 4, events: [{ host: 'h', phase: 'pulling', t: 0 }, { host: 'h', phase: 'healthy', t: 8 }] });
    // 8 s span: the healthy phase starts at the plot's right end.
    expect(rects(late)).toEqual(['pulling 110.0 33 770.0 20 #93c5fd', 'healthy 880.0 33 2.0 20 #86efac']);
    const short = renderDeployTimeline({ title: 't', ok: true, seconds: 0.2, events: [{ host: 'h', phase: 'pulling', t: 0.1 }] });
    expect(rects(short)).toEqual(['pulling 187.0 33 693.0 20 #93c5fd']);
    expect(renderDeployTimeline({ title: 't', ok: true, seconds: 0, events: [] })).toContain('<p>0 host lanes; no traffic figures</p>');
  });
});

describe('traffic', () => {
  const traffic = [{ t: 0, requests: 4, errors: 1 }, { t: 1, requests: 2, errors: 0 }, { t: 2, requests: 0, errors: 0 }];
  // Rendered inside each test: StrykerJS runs only the tests that execute a mutant.
  const page = () => renderDeployTimeline({ title: 't', ok: true, seconds: 10, events: [{ host: 'web1', phase: 'pulling', t: 0 }], traffic });

  it('a bar per second scaled to the busiest one; the error rate as a line on its own scale', () => {
    expect([...page().matchAll(/<rect class="rps" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)">/g)].map((m) => m.slice(1).join(' '))).toEqual([
      '110.0 96.0 76.0 120.0', '187.0 156.0 76.0 60.0', '264.0 216.0 76.0 0.0',
    ]);
    expect(page()).toContain('<polyline class="errors" points="148.0,96.0 225.0,216.0 302.0,216.0"/>');
    expect(page()).toContain('requests/s through the proxies (blue, max 4); error rate (red, 0-25 %)</text>');
    expect(page()).toContain('<p>1 host lane; 6 requests, 1 errors through the proxies</p>');
  });
  it('a few errors still show: the rate scale is at least 0-5 %', () => {
    const few = renderDeployTimeline({ title: 't', ok: true, seconds: 2, events: [], traffic: [{ t: 0, requests: 100, errors: 1 }, { t: 1, requests: 0, errors: 0 }] });
    expect(few).toContain('error rate (red, 0-5 %)');
    // 1 % of a 0-5 % scale: a fifth of the 120 px height above the bottom (y=70+120).
    expect(few).toContain('<polyline class="errors" points="302.0,166.0 687.0,190.0"/>');
    const third = renderDeployTimeline({ title: 't', ok: true, seconds: 2, events: [], traffic: [{ t: 0, requests: 3, errors: 1 }] });
    expect(third).toContain('error rate (red, 0-33.3 %)');
  });
  it('bars at least 1 px wide on a long span', () => {
    const long = renderDeployTimeline({ title: 't', ok: true, seconds: 2000, events: [], traffic: [{ t: 0, requests: 1, errors: 0 }] });
    expect(long).toContain('<rect class="rps" x="110.0" y="70.0" width="1.0" height="120.0">');
  });
});

describe('per-second traffic from access-log entries', () => {
  it('buckets from the deploy start to its end rounded up; before and after left out; 5xx counted as errors', () => {
    const start = 1_000_000;
    const out = trafficPerSecond([
      { msec: 999.999, status: 200 }, { msec: 1000, status: 500 }, { msec: 1000.999, status: 499 }, { msec: 1001, status: 503 },
      { msec: 1002.05, status: 200 }, { msec: 1003, status: 200 },
    ], start, 2.1);
    expect(out).toEqual([{ t: 0, requests: 2, errors: 1 }, { t: 1, requests: 1, errors: 1 }, { t: 2, requests: 1, errors: 0 }]);
  });
  it('at least one bucket', () => {
    expect(trafficPerSecond([{ msec: 5, status: 200 }], 5000, 0)).toEqual([{ t: 0, requests: 1, errors: 0 }]);
  });
});

describe('tick steps', () => {
  it('the smallest step giving at most 12 ticks', () => {
    expect([6, 6.01, 12, 12.1, 24, 180, 180.1, 43_200, 43_201].map(tickStep)).toEqual([0.5, 1, 1, 2, 2, 15, 20, 3600, 7200]);
  });
  it('a deploy a hair short of a tick still gets that tick (float tolerance at the end of the axis)', () => {
    const html = renderDeployTimeline({ title: 't', ok: true, seconds: 10 - 1e-9, events: [] });
    expect([...html.matchAll(/<text class="axis"[^>]*>([^<]+)</g)].map((m) => m[1]).at(-1)).toBe('10s');
  });
  it('the traffic heading sits above the traffic plot', () => {
    // Two lanes: lanes end at y=82, the traffic plot starts 40 px lower (122); its heading 12 px above that.
    const html = renderDeployTimeline({ title: 't', ok: true, seconds: 10, events: [{ host: 'a', phase: 'pulling', t: 0 }, { host: 'b', phase: 'pulling', t: 0 }] });
    expect(html).toContain('<text class="section" x="110" y="110">requests/s through the proxies');
    expect(html).toContain('<rect class="lane-bg" x="110" y="122" width="770" height="120"/>');
  });
  it('half-second ticks are labelled as such', () => {
    const html = renderDeployTimeline({ title: 't', ok: true, seconds: 1.5, events: [] });
    expect([...html.matchAll(/<text class="axis"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual(['0s', '0.5s', '1s', '1.5s']);
  });
});
