/**
 * Deploy visibility on 2 simulated hosts with the real CLI: webhook notifications to receivers this
 * file runs on 127.0.0.1 (one that records, one that never answers), `pier stats` against figures
 * worked out here from the hosts' own records, and deploy.html looked at in headless Chromium.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { interpolationVars } from '../../src/config/load.ts';
import { parseAuditLine } from '../../src/stats/dora.ts';
import { exec } from '../../src/util/exec.ts';
import { newRunId, runLabels } from '../../src/util/run-id.ts';
import { buildTestApp, writeProject, type Fleet } from '../helpers/fleet.ts';
import { startLoad } from '../helpers/load.ts';
import { runPier } from '../helpers/pier.ts';
import { columnsOfColour, countColour, darkPixels, firstRowWith, readPng } from '../helpers/png.ts';
import { repoRoot } from '../helpers/paths.ts';
import { useFleet } from '../helpers/use-fleet.ts';

const HOOK_TOKEN = 'xoxb-visibility-secret-4242';
/** In the recording receiver's URL path, as in a Slack incoming-webhook URL. */
const EVENTS_TOKEN = 'T0VIS/B0REC/recorderSecret7319';
const HANG_TIMEOUT_S = 2;
const chromium = 'pier-test/chromium:1';
const runId = newRunId();
let fleet: Fleet;
let config = '';
let root = '';
/** Every project directory a test wrote (each keeps its runs' reports under .pier/). */
const projectRoots: string[] = [];
const sha: string[] = [];
const received: { at: number; path: string; body: Record<string, unknown> }[] = [];
const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    if (req.url?.startsWith('/hang')) return; // never answers: pier must not wait for it
    received.push({ at: Date.now(), path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
    res.writeHead(204).end();
  });
});
let hookBase = '';

const git = (...args: string[]) => exec(['git', '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: root }).then((r) => r.stdout.trim());
const version = (i: number) => `1.${i}.0-${sha[i]}`;
const events = () => received.map((r) => r.body.event);

async function pier(args: string[], configFile = config) {
  const r = await runPier([...args, '--config', configFile], { cwd: root, env: { PIER_TEST_HOOK: `${hookBase}/hang?token=${HOOK_TOKEN}`, PIER_DEPLOYER: 'vis-test' }, timeoutMs: 180_000 });
  // The webhook URLs are secrets: neither token in anything pier prints.
  for (const token of [HOOK_TOKEN, EVENTS_TOKEN]) expect(`${r.stdout}${r.stderr}`).not.toContain(token);
  return r;
}

useFleet(
  {
    count: 2,
    alongside: () => [
      buildTestApp('pier-test/deploy-app:good'),
      buildTestApp('pier-test/deploy-app:never', { neverHealthy: true }),
      buildTestApp('pier-test/deploy-app:vis-fail30', { failRate: 0.3 }),
      exec(['docker', 'buildx', 'build', '--load', '--quiet', '--build-arg', `BASE_IMAGE=${interpolationVars(repoRoot).PIER_DEBIAN_IMAGE ?? 'debian:bookworm'}`, '-t', chromium, join(repoRoot, 'test/fixtures/chromium')]),
      new Promise<void>((r) => server.listen(0, '127.0.0.1', r)),
    ],
  },
  async (f) => {
    fleet = f;
    hookBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    config = writeProject(fleet, {
      bakeSeconds: 1,
      drainSeconds: 0.5,
      healthTimeoutSeconds: 4,
      environment: { notify: [{ url: `${hookBase}/events/${EVENTS_TOKEN}`, name: 'recorder' }, { urlEnv: 'PIER_TEST_HOOK', timeoutSeconds: HANG_TIMEOUT_S, events: ['deploy.started', 'deploy.succeeded'] }] },
    });
    root = resolve(config, '..');
    projectRoots.push(root);
    // The project is a git repository: versions carry commit shas, whose times give lead time.
    await git('init', '-q');
    for (let i = 0; i < 3; i++) {
      await git('commit', '-q', '--allow-empty', '-m', `change ${i}`);
      sha.push((await git('rev-parse', '--short=7', 'HEAD')));
    }
    await Promise.all([
      fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${version(0)}`),
      fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${version(1)}`),
      fleet.push('pier-test/deploy-app:never', `pier-test/deploy-app:${version(2)}`),
      fleet.push('pier-test/deploy-app:vis-fail30', 'pier-test/deploy-app:canary-bad'),
    ]);
  },
);

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const pictures: string[] = [];

describe.sequential('deploy visibility on 2 simulated hosts', () => {
  it('a good deploy under load: started then succeeded, with env, version, digest, who, duration, hosts; a hanging receiver costs at most its timeout', async () => {
    await pier(['deploy', 'production', '--version', version(0)]);
    received.length = 0;
    const load = startLoad(fleet.lbPort, 40);
    const r = await pier(['deploy', 'production', '--version', version(1), '--json']);
    const exitedAt = Date.now();
    await load.stop();
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    const report = JSON.parse(r.stdout) as { seconds: number; notificationsWaitSeconds: number; notifications: { receiver: string; event: string; ok: boolean }[] };
    expect(events()).toEqual(['deploy.started', 'deploy.succeeded']);
    expect(received.map((x) => x.path)).toEqual([`/events/${EVENTS_TOKEN}`, `/events/${EVENTS_TOKEN}`]); // the token URL is the one posted to
    const done = received[1]!.body;
    expect(done).toMatchObject({ env: 'production', app: 'deploy-app', version: version(1), by: expect.stringMatching(/^vis-test@/), hosts: ['web1', 'web2'] });
    expect(done.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(done.durationSeconds).toBeCloseTo(report.seconds, 1);
    // The hanging receiver: reported as not delivered (by name); pier waited for receivers at most
    // its timeout, and the command ended soon after the deploy's last event went out (that also
    // covers reading the proxies' traffic for deploy.html, bounded at 5 s, beside the wait).
    expect(report.notifications.filter((n) => !n.ok).map((n) => [n.receiver, n.event])).toEqual([['#2 (json)', 'deploy.started'], ['#2 (json)', 'deploy.succeeded']]);
    expect(report.notificationsWaitSeconds).toBeLessThan(HANG_TIMEOUT_S + 0.5);
    expect((exitedAt - received[1]!.at) / 1000).toBeLessThan(5 + 2);
    expect(r.stderr).toMatch(/! notification deploy.started to #2 \(json\) not delivered: no answer in 2000 ms/);
    pictures.push(resolve(root, /timeline picture: (\S+)/.exec(r.stderr)![1]!));
  }, 240_000);

  it('a release that fails its health check: started then failed, with the reason', async () => {
    received.length = 0;
    const r = await pier(['deploy', 'production', '--version', version(2)]);
    expect(r.code).toBe(1);
    expect(events()).toEqual(['deploy.started', 'deploy.failed']);
    expect(String(received[1]!.body.reason)).toMatch(/health|unhealthy|never became healthy/i);
    pictures.push(resolve(root, /timeline picture: (\S+)/.exec(r.stderr)![1]!));
  }, 240_000);

  it('a fleet-wide rollback: triggered (by hand, who) then done, back on the previous release on every host', async () => {
    received.length = 0;
    const r = await pier(['rollback', 'production']);
    expect(r.code, r.stderr).toBe(0);
    expect(events()).toEqual(['rollback.triggered', 'rollback.done']);
    expect(received[0]!.body.reason).toMatch(/^by hand \(vis-test@/);
    expect(received[1]!.body).toMatchObject({ version: version(0), hosts: ['web1', 'web2'] });
  }, 120_000);

  it('pier stats gives the figures worked out here from the hosts\' records', async () => {
    const audit = (await fleet.hostExec('web1', ['cat', '/var/lib/pier/audit.log'])).split('\n').map(parseAuditLine).filter((e) => e !== undefined);
    const rollbackSince = await Promise.all(fleet.hosts.map(async (h) => {
      const lines = (await fleet.hostExec(h.name, ['cat', '/var/lib/pier/deploy-app/releases.jsonl'])).split('\n').map((l) => JSON.parse(l) as { event: string; since: string });
      return Date.parse(lines.filter((l) => l.event === 'rollback').at(-1)!.since);
    }));
    const succeededAt = (v: string) => audit.find((e) => e.message === `deploy ${v} succeeded`)!.at;
    const committed = async (s: string) => Number(await git('show', '-s', '--format=%ct', s)) * 1000;
    // By hand: 3 deploys started, 2 succeeded; changes that reached hosts: v0, v1 (v2 never switched);
    // v1 was rolled back by command; restored when the last host's rollback record was written.
    const ttr = (Math.max(...rollbackSince) - succeededAt(version(1))) / 1000;
    const leads = [(succeededAt(version(0)) - (await committed(sha[0]!))) / 1000, (succeededAt(version(1)) - (await committed(sha[1]!))) / 1000].sort((a, b) => a - b);

    const r = await pier(['stats', 'production', '--since', '1d', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.deploys).toMatchObject({ attempted: 3, succeeded: 2, failed: 1, successRate: 0.667 });
    expect(s.changeFailure).toEqual({ changes: 2, failed: 1, rate: 0.5, versions: [version(1)] });
    expect(s.timeToRestoreSeconds.count).toBe(1);
    expect(s.timeToRestoreSeconds.p50).toBeCloseTo(ttr, 0);
    expect(s.leadTimeSeconds).toMatchObject({ count: 2, unknownCommit: 0 });
    expect(s.leadTimeSeconds.p50).toBeCloseTo(leads[0]!, 0);
    expect(s.leadTimeSeconds.max).toBeCloseTo(leads[1]!, 0);
    expect(s.rollbacks).toMatchObject({ count: 1, byCommand: 1, automatic: 0 });

    const prom = await pier(['stats', 'production', '--since', '1d', '--format', 'prometheus']);
    expect(prom.stdout).toContain('pier_change_failure_rate{app="deploy-app",env="production"} 0.5');
    expect(prom.stdout).toContain('pier_deploys_total{app="deploy-app",env="production",result="failed"} 1');
  }, 120_000);

  it('a canary of a release failing 30 % of requests, under load: started, rollback.triggered with the analysis, rollback.done, failed', async () => {
    const canaryConfig = writeProject(fleet, {
      bakeSeconds: 1,
      drainSeconds: 0.5,
      deploy: { strategy: 'canary', canary: { steps: [10, 50, 100], pauseSeconds: 5, minRequests: 10, maxErrorRate: 0.05, maxErrorRateIncrease: 0.02 } },
      environment: { notify: [{ url: `${hookBase}/events/${EVENTS_TOKEN}` }] },
    });
    projectRoots.push(resolve(canaryConfig, '..'));
    received.length = 0;
    const load = startLoad(fleet.lbPort, 40);
    const r = await pier(['deploy', 'production', '--version', 'canary-bad'], canaryConfig);
    await load.stop();
    expect(r.code, r.stderr.slice(-1500)).toBe(1);
    expect(events()).toEqual(['deploy.started', 'rollback.triggered', 'rollback.done', 'deploy.failed']);
    expect(String(received[1]!.body.reason)).toMatch(/canary|error rate/i);
    expect(received[2]!.body).toMatchObject({ version: version(0), hosts: ['web1', 'web2'] });
    pictures.push(resolve(root, /timeline picture: (\S+)/.exec(r.stderr)![1]!));
    // The deploy switched the fleet back itself: its audit lines say when it found the failure and
    // how long its rollback took, and pier stats times that rollback beside the earlier pier rollback.
    const audit = (await fleet.hostExec('web1', ['cat', '/var/lib/pier/audit.log'])).split('\n').map(parseAuditLine).filter((e) => e !== undefined);
    const detected = audit.find((e) => e.message.startsWith('deploy canary-bad failure detected: '));
    const auto = audit.find((e) => e.message.startsWith('rollback (automatic, deploy canary-bad failed) '));
    expect(detected?.message).toMatch(/canary|error rate/i);
    expect(auto?.message).toMatch(new RegExp(`^rollback \\(automatic, deploy canary-bad failed\\) web1:canary-bad->${version(0)} web2:canary-bad->${version(0)} in \\d+\\.\\d\\ds$`));
    expect(detected!.at).toBeLessThanOrEqual(auto!.at);
    const durations = audit.map((e) => /^rollback .* in ([\d.]+)s$/.exec(e.message)?.[1]).filter((d) => d !== undefined).map((d) => Math.round(Number(d) * 10) / 10).sort((x, y) => x - y);
    expect(durations).toHaveLength(2); // the pier rollback above and this one
    const s = JSON.parse((await pier(['stats', 'production', '--since', '1d', '--json'], canaryConfig)).stdout);
    expect(s.rollbacks).toMatchObject({ count: 2, automatic: 1, byCommand: 1 });
    expect(s.rollbackSeconds).toEqual({ count: 2, p50: durations[0], p90: durations[1], max: durations[1] });
  }, 240_000);

  it('deploy.html of the rolling deploy, the failed one and the rolled-back canary, looked at in headless Chromium: lanes, axis and traffic are drawn', async () => {
    expect(pictures).toHaveLength(3);
    const html = readFileSync(pictures[0]!, 'utf8');
    expect([...html.matchAll(/<g class="lane" data-host="([^"]+)"/g)].map((m) => m[1])).toEqual(['web1', 'web2']);
    expect(html).toMatch(/<title>\+\d+s: [1-9]\d* requests/); // the load went through the proxies during the deploy
    const out = mkdtempSync(join(tmpdir(), 'pier-shot-'));
    chmodSync(out, 0o777);
    for (const [i, page] of pictures.entries()) {
      await exec(['docker', 'run', '--rm', ...Object.entries(runLabels(runId)).flatMap(([k, v]) => ['--label', `${k}=${v}`]), '--network', 'none',
        '--volume', `${resolve(page, '..')}:/page:ro`, '--volume', `${out}:/out`, chromium, `--screenshot=/out/shot${i}.png`, '--window-size=960,420', 'file:///page/deploy.html'], { timeoutMs: 60_000 });
      expect(existsSync(join(out, `shot${i}.png`))).toBe(true);
    }
    const good = readPng(readFileSync(join(out, 'shot0.png')));
    expect([good.width, good.height]).toEqual([960, 420]);
    // After the switch: switched, baking, baked (the switch itself is milliseconds wide).
    expect(countColour(good, '#22c55e') + countColour(good, '#4ade80') + countColour(good, '#16a34a')).toBeGreaterThan(600);
    expect(countColour(good, '#60a5fa')).toBeGreaterThan(100); // request-rate bars
    expect(countColour(good, '#f8fafc')).toBeGreaterThan(2000); // lane backgrounds
    const bad = readPng(readFileSync(join(out, 'shot1.png')));
    expect(countColour(bad, '#ef4444') + countColour(bad, '#dc2626')).toBeGreaterThan(50); // unhealthy / failed
    expect(countColour(bad, '#22c55e')).toBe(0); // nothing switched
    const canary = readPng(readFileSync(join(out, 'shot2.png')));
    expect(countColour(canary, '#fbbf24')).toBeGreaterThan(50); // the canary step
    expect(countColour(canary, '#f87171') + countColour(canary, '#b91c1c')).toBeGreaterThan(50); // rolling back / rolled back
    // The time axis, in the page and on the screen, for each picture: tick labels 0s, step, 2 step...
    // to the deploy's end; a one-pixel tick line drawn above the first lane at each label's x, evenly
    // spaced as the page places them; ink of the label just above each line.
    for (const [i, page] of pictures.entries()) {
      const text = readFileSync(page, 'utf8');
      const labels = [...text.matchAll(/<text class="axis" x="([\d.]+)"[^>]*>([\d.]+)s<\/text>/g)].map((m) => ({ x: Number(m[1]), t: Number(m[2]) }));
      const ticks = [...text.matchAll(/<line class="tick" x1="([\d.]+)"/g)].map((m) => Number(m[1]));
      const seconds = Number(/ in ([\d.]+)s<\/h1>/.exec(text)![1]);
      expect(labels.length, page).toBeGreaterThanOrEqual(3);
      const step = labels[1]!.t - labels[0]!.t;
      expect(labels.map((l) => l.t)).toEqual(labels.map((_, k) => +(k * step).toFixed(1)));
      // The axis reaches the end of the deploy: one more step would pass it. The heading's seconds are
      // rounded to 0.1 s, so a deploy of 5.46 s shows 5.5 with its last tick at 5.0 (CI 2026-12-02).
      expect(labels.at(-1)!.t + step).toBeGreaterThanOrEqual(seconds);
      expect(ticks).toEqual(labels.map((l) => l.x));
      const shot = readPng(readFileSync(join(out, `shot${i}.png`)));
      // Nothing above the lanes but the ticks has their colour: the first row holding it is their top.
      const tickTop = firstRowWith(shot, '#e5e7eb', labels.length);
      expect(tickTop, `shot${i}: tick lines`).toBeGreaterThan(40);
      const lines = columnsOfColour(shot, '#e5e7eb', tickTop, tickTop + 6);
      expect(lines, `shot${i}: one tick line per label`).toHaveLength(labels.length);
      lines.forEach((x, k) => expect(Math.abs(x - lines[0]! - (ticks[k]! - ticks[0]!)), `shot${i}: tick ${k} at x ${x}`).toBeLessThanOrEqual(1));
      for (const x of lines) expect(darkPixels(shot, x - 12, tickTop - 18, x + 13, tickTop - 1), `shot${i}: label over the tick at x ${x}`).toBeGreaterThan(5);
    }
  }, 120_000);

  it('the webhook URLs appear in no report, timeline page or host record', async () => {
    const files = projectRoots.flatMap((p) => readdirSync(join(p, '.pier'), { recursive: true, encoding: 'utf8' }).map((f) => join(p, '.pier', f))).filter((f) => statSync(f).isFile());
    // Every deploy's report and timeline page (v0, v1, v2, the canary) is among those searched.
    expect(files.filter((f) => f.endsWith('report.json')).length).toBeGreaterThanOrEqual(4);
    expect(files.filter((f) => f.endsWith('.html')).length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const text = readFileSync(f, 'latin1');
      for (const token of [HOOK_TOKEN, EVENTS_TOKEN]) expect(text.includes(token), `${f} holds ${token}`).toBe(false);
    }
    for (const h of fleet.hosts) {
      const hits = await fleet.hostExec(h.name, ['sh', '-c', `grep -rlF -e '${HOOK_TOKEN}' -e '${EVENTS_TOKEN}' /var/lib/pier || true`]);
      expect(hits, `${h.name}: files holding a webhook token`).toBe('');
    }
  }, 60_000);
});
