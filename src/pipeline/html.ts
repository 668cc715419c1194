/**
 * The load-test HTML report: a latency-percentile chart and a requests/s-over-time chart as inline
 * SVG (no scripts, no network), plus the SLO table. Pure: returns the document text.
 */
import type { LoadStats, Slo } from './load.ts';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A simple SVG chart: bars or a polyline, labelled axes. */
export function svgChart(title: string, points: { x: string; y: number }[], kind: 'bar' | 'line', unit: string): string {
  const W = 640;
  const H = 260;
  const pad = { l: 56, r: 16, t: 28, b: 36 };
  const max = Math.max(1, ...points.map((p) => p.y)) * 1.1;
  const iw = W - pad.l - pad.r;
  const ih = H - pad.t - pad.b;
  const step = points.length ? iw / points.length : iw;
  const X = (i: number) => pad.l + step * i + step / 2;
  const Y = (v: number) => pad.t + ih - (v / max) * ih;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
    ...ticks.map((t) => `<line x1="${pad.l}" x2="${W - pad.r}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${t.toFixed(t < 10 ? 1 : 0)}</text>`),
    `<text x="12" y="${pad.t + ih / 2}" font-size="11" transform="rotate(-90 12 ${pad.t + ih / 2})" text-anchor="middle">${esc(unit)}</text>`,
  ];
  if (kind === 'bar') {
    points.forEach((p, i) => {
      const w = Math.max(4, step * 0.6);
      parts.push(`<rect class="bar" x="${(X(i) - w / 2).toFixed(1)}" y="${Y(p.y).toFixed(1)}" width="${w.toFixed(1)}" height="${(pad.t + ih - Y(p.y)).toFixed(1)}" fill="#4a7bd0"><title>${esc(p.x)}: ${p.y}</title></rect>`);
    });
  } else {
    parts.push(`<polyline class="line" fill="none" stroke="#d0644a" stroke-width="2" points="${points.map((p, i) => `${X(i).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ')}"/>`);
  }
  const every = Math.max(1, Math.ceil(points.length / 12));
  points.forEach((p, i) => {
    if (i % every === 0) parts.push(`<text x="${X(i).toFixed(1)}" y="${H - pad.b + 16}" text-anchor="middle" font-size="11">${esc(p.x)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface HtmlInput {
  app: string;
  image: string;
  runId: string;
  target: string;
  stats: LoadStats;
  rpsSeries: number[];
  slo: Slo;
  misses: string[];
}

/** The whole HTML report. */
export function loadtestHtml(i: HtmlInput): string {
  const s = i.stats;
  const rows: [string, string, string, boolean][] = [
    ['p95 latency', `${s.p95Ms} ms`, `≤ ${i.slo.p95Ms} ms`, s.p95Ms <= i.slo.p95Ms],
    ['p99 latency', `${s.p99Ms} ms`, `≤ ${i.slo.p99Ms} ms`, s.p99Ms <= i.slo.p99Ms],
    ['error rate', `${(s.errorRate * 100).toFixed(2)}%`, `≤ ${(i.slo.maxErrorRate * 100).toFixed(2)}%`, s.errorRate <= i.slo.maxErrorRate],
    ['requests/s', `${s.rps}`, `≥ ${i.slo.minRps}`, s.rps >= i.slo.minRps],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pier load test: ${esc(i.app)} ${esc(i.runId)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:720px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.ok{color:#1a7f37}.miss{color:#cf222e;font-weight:bold}</style>
</head><body>
<h1>Load test: ${esc(i.app)}</h1>
<p>Run <code>${esc(i.runId)}</code>, image <code>${esc(i.image)}</code>, target <code>${esc(i.target)}</code>.
${s.requests} requests, ${s.errors} errors, ${s.non2xx} non-2xx. Verdict: <strong class="${i.misses.length ? 'miss' : 'ok'}">${i.misses.length ? `SLO missed (${esc(i.misses.join('; '))})` : 'SLO met'}</strong></p>
<table><tr><th>gate</th><th>measured</th><th>SLO</th><th></th></tr>
${rows.map(([n, m, t, ok]) => `<tr><td>${n}</td><td>${m}</td><td>${t}</td><td class="${ok ? 'ok' : 'miss'}">${ok ? 'ok' : 'miss'}</td></tr>`).join('\n')}
</table>
<h2>Latency percentiles</h2>
${svgChart('Latency by percentile (ms)', s.percentiles.map((p) => ({ x: `p${p.p}`, y: p.ms })), 'bar', 'ms')}
<h2>Requests per second</h2>
${svgChart('Requests/s over time', i.rpsSeries.map((y, n) => ({ x: `${n + 1}s`, y })), 'line', 'req/s')}
</body></html>
`;
}
