// DORA figures from records written the way pier writes them (releases.jsonl, audit lines).
import { describe, expect, it } from 'vitest';
import { auditLine, type ReleaseRecord } from '../../../src/deploy/records.ts';
import { automaticRollbackLine, failureDetectedAt } from '../../../src/deploy/deploy.ts';
import { computeDora, parseAuditLine, percentiles, renderDora, renderPrometheus, shaOfVersion } from '../../../src/stats/dora.ts';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000);
const rec = (event: ReleaseRecord['event'], version: string, run: string, min: number, from?: string): ReleaseRecord => ({ event, version, run, since: at(min).toISOString(), image: `img:${version}`, container: `api-${version}-${run}`, by: 'ci', ...(from ? { from } : {}) });
const audit = (run: string, min: number, msg: string) => auditLine(at(min), 'ci@runner', run, msg);

// Story on two hosts: v1 good; v2 fails its health check on web2 after web1 switched (rolled back
// 2 min after web1's switch); v3 good, then rolled back by hand 30 min after it succeeded; v4 never
// reached a host (pull failed): a failed deploy, not a change failure.
const hosts = ['web1', 'web2'].map((host, i) => ({
  host,
  releases: [
    rec('deployed', '1.0.0-aaaaaaa', 'd1', 10 + i),
    ...(i === 0 ? [rec('deployed', '1.1.0-bbbbbbb', 'd2', 100), rec('rolled-back', '1.0.0-aaaaaaa', 'd2', 102, '1.1.0-bbbbbbb')] : []),
    rec('deployed', '1.2.0-ccccccc', 'd3', 200 + i),
    rec('rollback', '1.0.0-aaaaaaa', 'r1', 232 + i, '1.2.0-ccccccc'),
  ],
  audit: [
    audit('d1', 9, 'deploy 1.0.0-aaaaaaa started (strategy rolling)'), audit('d1', 12, 'deploy 1.0.0-aaaaaaa succeeded'),
    audit('d2', 99, 'deploy 1.1.0-bbbbbbb started (strategy rolling)'), audit('d2', 103, 'deploy 1.1.0-bbbbbbb failed: web2: unhealthy'),
    audit('d3', 199, 'deploy 1.2.0-ccccccc started (strategy rolling)'), audit('d3', 202, 'deploy 1.2.0-ccccccc succeeded'),
    audit('r1', 233, 'rollback web1:1.2.0-ccccccc->1.0.0-aaaaaaa web2:1.2.0-ccccccc->1.0.0-aaaaaaa in 1.50s'),
    audit('d4', 300, 'deploy 1.3.0-ddddddd started (strategy rolling)'), audit('d4', 301, 'deploy 1.3.0-ddddddd failed: web1: pull failed'),
    'garbage line',
  ],
}));
const commits = new Map([['aaaaaaa', T0], ['ccccccc', T0 + 150 * 60_000]]);
const window = { since: T0, until: T0 + 2 * 86_400_000 };

describe('DORA from pier records', () => {
  // Computed inside each test: StrykerJS runs only the tests that execute a mutant.
  const stats = () => computeDora('production', hosts, commits, window);

  it('deployment frequency and success rate from the audit runs', () => {
    expect(stats().deploys).toEqual({ attempted: 4, succeeded: 2, failed: 2, successRate: 0.5, perDay: 1 });
  });
  it('lead time: commit -> success; a deploy without a known commit is counted as such', () => {
    // d1: committed T0, succeeded +12 min = 720 s; d3: committed +150, succeeded +202 min = 3120 s.
    expect(stats().leadTimeSeconds).toEqual({ count: 2, p50: 720, p90: 3120, max: 3120, unknownCommit: 0 });
  });
  it('change failure rate: of changes that reached a host, the rolled-back ones (a deploy that switched nothing is not one)', () => {
    expect(stats().changeFailure).toEqual({ changes: 3, failed: 2, rate: 0.667, versions: ['1.1.0-bbbbbbb', '1.2.0-ccccccc'] });
  });
  it('time to restore: first switch -> last rolled-back host (automatic); success -> last host back (by command)', () => {
    // d2: switched +100, restored +102 -> 120 stats(). d3: succeeded +202, web2 back at +233 -> 1860 stats().
    expect(stats().timeToRestoreSeconds).toEqual({ count: 2, p50: 120, p90: 1860, max: 1860 });
  });
  it('deploy durations from started/ended audit lines; rollbacks counted by kind, duration from the line', () => {
    expect(stats().deploySeconds).toEqual({ count: 4, p50: 180, p90: 240, max: 240 });
    expect(stats().rollbacks).toEqual({ count: 2, automatic: 1, byCommand: 1, perDeploy: 0.5 });
    expect(stats().rollbackSeconds).toEqual({ count: 1, p50: 1.5, p90: 1.5, max: 1.5 });
  });
  it('the window bounds what counts', () => {
    const late = computeDora('production', hosts, commits, { since: T0 + 150 * 60_000, until: window.until });
    expect(late.deploys.attempted).toBe(2);
    expect(late.changeFailure).toMatchObject({ changes: 1, failed: 1 });
  });
  it('text and prometheus renderings carry the figures', () => {
    expect(renderDora(stats())).toContain('change failure rate   66.7 % (2 of 3 changes: 1.1.0-bbbbbbb, 1.2.0-ccccccc)');
    const prom = renderPrometheus(stats(), 'api');
    expect(prom).toContain('pier_change_failure_rate{app="api",env="production"} 0.667');
    expect(prom).toContain('pier_lead_time_seconds{app="api",env="production",quantile="0.5"} 720');
    expect(prom).toMatch(/^# HELP pier_deploys_total .*\n# TYPE pier_deploys_total gauge\npier_deploys_total\{app="api",env="production",result="succeeded"\} 2$/m);
  });
});

// The same kind of story with the detection lines pier writes now: v2's deploy found web2 unhealthy
// at +101 (web1 had switched at +100) and switched web1 back by +102 (its automatic-rollback line
// says 42.5 s); v3 succeeded at +202, its guard fired at +220 and the rollback had every host back
// at +233. Lines that must not count: a detection of another version inside v3's interval, and one
// of v3 after it was restored.
describe('time to restore starts at the recorded failure detection', () => {
  const story = () => ['web1', 'web2'].map((host, i) => ({
    host,
    releases: [
      rec('deployed', '1.0.0-aaaaaaa', 'd1', 10 + i),
      ...(i === 0 ? [rec('deployed', '1.1.0-bbbbbbb', 'd2', 100), rec('rolled-back', '1.0.0-aaaaaaa', 'd2', 102, '1.1.0-bbbbbbb')] : []),
      rec('deployed', '1.2.0-ccccccc', 'd3', 200 + i),
      rec('rollback', '1.0.0-aaaaaaa', 'g1', 232 + i, '1.2.0-ccccccc'),
    ],
    audit: [
      audit('d1', 9, 'deploy 1.0.0-aaaaaaa started (strategy rolling)'), audit('d1', 12, 'deploy 1.0.0-aaaaaaa succeeded'),
      audit('d2', 99, 'deploy 1.1.0-bbbbbbb started (strategy rolling)'),
      audit('d2', 101, 'deploy 1.1.0-bbbbbbb failure detected: web2: unhealthy'),
      audit('d2', 102, automaticRollbackLine('1.1.0-bbbbbbb', [{ host: 'web1', status: 'rolled-back', serving: '1.0.0-aaaaaaa' }, { host: 'web2', status: 'failed', serving: '1.0.0-aaaaaaa' }], 42.5)[0]!.message),
      audit('d2', 103, 'deploy 1.1.0-bbbbbbb failed: web2: unhealthy'),
      audit('d3', 199, 'deploy 1.2.0-ccccccc started (strategy rolling)'), audit('d3', 202, 'deploy 1.2.0-ccccccc succeeded'),
      audit('x1', 210, 'failure detected in 9.9.9-eeeeeee: guard failed: error_rate'),
      audit('g1', 220, 'failure detected in 1.2.0-ccccccc: guard failed: error_rate 9 % > 5 %'),
      audit('g1', 233, 'rollback web1:1.2.0-ccccccc->1.0.0-aaaaaaa web2:1.2.0-ccccccc->1.0.0-aaaaaaa in 1.50s'),
      audit('g2', 250, 'failure detected in 1.2.0-ccccccc: smoke failed: late'),
    ],
  }));
  const stats = () => computeDora('production', story(), commits, window);

  it('automatic: detection (+101) -> last rolled-back host (+102) = 60 s; guard: detection (+220) -> last host back (+233) = 780 s', () => {
    expect(stats().timeToRestoreSeconds).toEqual({ count: 2, p50: 60, p90: 780, max: 780 });
    expect(stats().changeFailure).toMatchObject({ changes: 3, failed: 2 });
  });
  it('the automatic rollback\'s duration counts with the commanded one\'s; each kind counted once', () => {
    expect(stats().rollbackSeconds).toEqual({ count: 2, p50: 1.5, p90: 42.5, max: 42.5 });
    expect(stats().rollbacks).toEqual({ count: 2, automatic: 1, byCommand: 1, perDeploy: 0.667 });
  });
  it('a canary rolled back by its deploy (weighted, so no deployed record): an automatic rollback by its line alone', () => {
    const canary = [{ host: 'web1', releases: [rec('deployed', '1.0.0-aaaaaaa', 'd1', 10)], audit: [
      audit('d1', 9, 'deploy 1.0.0-aaaaaaa started'), audit('d1', 10, 'deploy 1.0.0-aaaaaaa succeeded'),
      audit('c1', 50, 'deploy canary-bad started (strategy canary)'), audit('c1', 52, 'deploy canary-bad failure detected: canary rolled back at step 1 (10%)'),
      audit('c1', 53, 'rollback (automatic, deploy canary-bad failed) web1:canary-bad->1.0.0-aaaaaaa in 0.80s'), audit('c1', 53, 'deploy canary-bad failed: canary rolled back'),
    ] }];
    const s = computeDora('production', canary, commits, window);
    expect(s.rollbacks).toEqual({ count: 1, automatic: 1, byCommand: 0, perDeploy: 0.5 });
    expect(s.rollbackSeconds).toEqual({ count: 1, p50: 0.8, p90: 0.8, max: 0.8 });
  });
  it('without the detection lines (records written before them): first switch (+100) and success (+202)', () => {
    const old = story().map((h) => ({ ...h, audit: h.audit.filter((l) => !/failure detected/.test(l)) }));
    // d2: +100 -> +102 = 120 s; d3: +202 -> +233 = 1860 s.
    expect(computeDora('production', old, commits, window).timeToRestoreSeconds).toEqual({ count: 2, p50: 120, p90: 1860, max: 1860 });
  });
});

describe('the deploy\'s own records of a failure (pure)', () => {
  it('detection: the first unhealthy or failed host step, else when the rollout gave up', () => {
    const events = [{ host: 'web1', phase: 'switched' as const, t: 3 }, { host: 'web2', phase: 'unhealthy' as const, t: 4.25 }, { host: 'web1', phase: 'failed' as const, t: 5 }];
    expect(failureDetectedAt({ events, startedAt: 1_000_000 }, 1_009_000)).toBe(1_004_250);
    expect(failureDetectedAt({ events: events.slice(0, 1), startedAt: 1_000_000 }, 1_009_000)).toBe(1_009_000);
    expect(failureDetectedAt({ events, startedAt: 1_000_000 }, 1_002_000)).toBe(1_002_000);
  });
  it('the automatic rollback line names the hosts switched back, the shape pier stats reads; none when no host had switched', () => {
    expect(automaticRollbackLine('v2', [{ host: 'web1', status: 'rolled-back', serving: 'v1' }, { host: 'web2', status: 'rollback-failed' }, { host: 'web3', status: 'not-changed', serving: 'v1' }], 1.234)).toEqual([
      { message: 'rollback (automatic, deploy v2 failed) web1:v2->v1 web2:v2->?(failed) in 1.23s' },
    ]);
    expect(automaticRollbackLine('v2', [{ host: 'web1', status: 'failed', serving: 'v1' }], 1)).toEqual([]);
  });
});

describe('parsing', () => {
  it('audit lines, version shas, percentiles of unsorted input', () => {
    expect(parseAuditLine('2026-12-01T10:00:00.000Z a@b run=x1 deploy v1 started')).toEqual({ at: Date.parse('2026-12-01T10:00:00.000Z'), by: 'a@b', run: 'x1', message: 'deploy v1 started' });
    expect(parseAuditLine('not an audit line')).toBeUndefined();
    expect(shaOfVersion('1.2.0-abc1234')).toBe('abc1234');
    expect(shaOfVersion('1.2.0-abc1234-dirty-00ff11')).toBe('abc1234');
    expect(shaOfVersion('1.2.0')).toBeUndefined();
    expect(percentiles([30, 10, 20])).toEqual({ count: 3, p50: 20, p90: 30, max: 30 });
    expect(percentiles([])).toEqual({ count: 0 });
  });
});
