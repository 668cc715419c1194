/**
 * deploy.html: a deploy as a picture (pure). One lane per host on a shared time axis, each phase a
 * coloured segment from the step that started it to the next (pulling, starting, healthy,
 * switched, baking, rolled back...), and underneath the request rate and error rate the proxies
 * saw, second by second. Self-contained: inline SVG and CSS, no script, no network.
 */
import type { ProgressEvent } from '../deploy/progress.ts';

export interface TrafficSecond {
  /** Seconds since the deploy started. */
  t: number;
  requests: number;
  errors: number;
}

export interface TimelineInput {
  title: string;
  ok: boolean;
  seconds: number;
  events: readonly ProgressEvent[];
  /** Per-second traffic through the hosts' proxies; undefined: not available (said on the page). */
  traffic?: readonly TrafficSecond[];
  trafficNote?: string;
}

const COLOURS: Record<string, string> = {
  preflight: '#cbd5e1', locked: '#cbd5e1', pulling: '#93c5fd', pulled: '#bfdbfe', migrating: '#c4b5fd', backup: '#c4b5fd',
  starting: '#fde68a', healthy: '#86efac', switched: '#22c55e', baking: '#4ade80', baked: '#16a34a', canary: '#fbbf24', analysis: '#f59e0b',
  drained: '#a3a3a3', retiring: '#a3a3a3', unchanged: '#e5e7eb', reconciled: '#e5e7eb', 'rollback-plan': '#fca5a5',
  unhealthy: '#ef4444', failed: '#dc2626', 'rolling-back': '#f87171', 'rolled-back': '#b91c1c', interrupted: '#7f1d1d',
};
const colour = (phase: string) => COLOURS[phase] ?? '#d1d5db';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Tick step for an axis of `span` seconds: 1, 2, 5, 10, 20, 30, 60... (about 10 ticks). */
export function tickStep(span: number): number {
  for (const s of [0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1800, 3600]) if (span / s <= 12) return s;
  return 7200;
}

/** Per-second request and 5xx counts from access-log entries (msec) relative to `startMs` (pure). */
export function trafficPerSecond(entries: readonly { msec: number; status: number }[], startMs: number, seconds: number): TrafficSecond[] {
  const n = Math.max(1, Math.ceil(seconds));
  const out = Array.from({ length: n }, (_, t) => ({ t, requests: 0, errors: 0 }));
  for (const e of entries) {
    const t = Math.floor((e.msec * 1000 - startMs) / 1000);
    if (t < 0 || t >= n) continue;
    out[t]!.requests++;
    if (e.status >= 500) out[t]!.errors++;
  }
  return out;
}

export function renderDeployTimeline(input: TimelineInput): string {
  // Lanes in host-name order (web2 before web10), whichever host reported first.
  const hosts = [...new Set(input.events.map((e) => e.host))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const span = Math.max(input.seconds, ...input.events.map((e) => e.t), 1);
  const left = 110;
  const width = 900;
  const plot = width - left - 20;
  const laneH = 26;
  const x = (t: number) => left + (t / span) * plot;
  const lanesTop = 30;
  const lanesH = hosts.length * laneH;
  const trafficTop = lanesTop + lanesH + 40;
  const trafficH = 120;
  const height = trafficTop + trafficH + 40;
  const step = tickStep(span);
  const parts: string[] = [];

  // Axis: ticks across lanes and traffic.
  for (let t = 0; t <= span + 1e-9; t += step) {
    parts.push(`<line class="tick" x1="${x(t).toFixed(1)}" y1="${lanesTop - 6}" x2="${x(t).toFixed(1)}" y2="${trafficTop + trafficH}"/>`);
    parts.push(`<text class="axis" x="${x(t).toFixed(1)}" y="${lanesTop - 10}" text-anchor="middle">${+t.toFixed(1)}s</text>`);
  }
  // Lanes.
  hosts.forEach((h, i) => {
    const y = lanesTop + i * laneH;
    const mine = input.events.filter((e) => e.host === h);
    parts.push(`<g class="lane" data-host="${esc(h)}"><text class="host" x="${left - 8}" y="${y + laneH / 2 + 4}" text-anchor="end">${esc(h)}</text>`);
    parts.push(`<rect class="lane-bg" x="${left}" y="${y + 3}" width="${plot}" height="${laneH - 6}"/>`);
    mine.forEach((e, j) => {
      const end = mine[j + 1]?.t ?? span;
      const w = Math.max(2, x(end) - x(e.t));
      parts.push(`<rect class="phase" data-phase="${e.phase}" x="${x(e.t).toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${laneH - 6}" fill="${colour(e.phase)}"><title>${esc(`${h} ${e.phase} at +${e.t.toFixed(2)}s${e.detail ? `: ${e.detail}` : ''}`)}</title></rect>`);
      if (w > 46) parts.push(`<text class="label" x="${(x(e.t) + 3).toFixed(1)}" y="${y + laneH / 2 + 4}">${esc(e.phase)}</text>`);
    });
    parts.push('</g>');
  });
  // Traffic: requests per second as bars, error rate as a red line (right scale 0-100 %).
  const traffic = input.traffic ?? [];
  const maxReq = Math.max(1, ...traffic.map((s) => s.requests));
  // Error rate on its own scale (at least 0-5 %, the usual rollback threshold) so a few errors show.
  const maxRate = Math.max(0.05, ...traffic.map((s) => (s.requests ? s.errors / s.requests : 0)));
  parts.push(`<text class="section" x="${left}" y="${trafficTop - 12}">requests/s through the proxies (blue, max ${maxReq})${traffic.length ? `; error rate (red, 0-${+(maxRate * 100).toFixed(1)} %)` : ` — ${esc(input.trafficNote ?? 'not available')}`}</text>`);
  parts.push(`<rect class="lane-bg" x="${left}" y="${trafficTop}" width="${plot}" height="${trafficH}"/>`);
  const barW = Math.max(1, plot / span - 1);
  for (const s of traffic) {
    const h = (s.requests / maxReq) * trafficH;
    parts.push(`<rect class="rps" x="${x(s.t).toFixed(1)}" y="${(trafficTop + trafficH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}"><title>+${s.t}s: ${s.requests} requests, ${s.errors} errors</title></rect>`);
  }
  if (traffic.length) {
    const pts = traffic.map((s) => `${(x(s.t) + barW / 2).toFixed(1)},${(trafficTop + trafficH - ((s.requests ? s.errors / s.requests : 0) / maxRate) * trafficH).toFixed(1)}`).join(' ');
    parts.push(`<polyline class="errors" points="${pts}"/>`);
  }
  const totals = traffic.reduce((a, s) => ({ r: a.r + s.requests, e: a.e + s.errors }), { r: 0, e: 0 });
  const legend = [...new Set(input.events.map((e) => e.phase))].map((p) => `<span><i style="background:${colour(p)}"></i>${esc(p)}</span>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#111}
h1{font-size:18px;margin:0 0 4px} .ok{color:#15803d} .bad{color:#b91c1c}
svg text{font:12px system-ui,sans-serif;fill:#111} .axis{fill:#555} .section{fill:#333}
.tick{stroke:#e5e7eb;shape-rendering:crispEdges} .lane-bg{fill:#f8fafc;stroke:#e2e8f0} .label{font-size:11px;fill:#111}
.rps{fill:#60a5fa} .errors{fill:none;stroke:#dc2626;stroke-width:2}
.legend span{margin-right:12px;white-space:nowrap} .legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
</style></head><body>
<h1>${esc(input.title)} <span class="${input.ok ? 'ok' : 'bad'}">${input.ok ? 'succeeded' : 'failed'}</span> in ${input.seconds.toFixed(1)}s</h1>
<p>${hosts.length} host lane${hosts.length === 1 ? '' : 's'}; ${traffic.length ? `${totals.r} requests, ${totals.e} errors through the proxies` : 'no traffic figures'}</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="deploy timeline">
${parts.join('\n')}
</svg>
<p class="legend">${legend}</p>
</body></html>
`;
}
