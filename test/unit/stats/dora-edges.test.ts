// DORA figures at their edges (mutation testing's survivors): window boundaries, one run seen on
// several hosts, runs with only one of their audit lines, rollbacks that do not count against a
// change, empty windows, percentile ranks, the units of the text summary, absent figures.
import { describe, expect, it } from 'vitest';
import { auditLine, type ReleaseRecord } from '../../../src/deploy/records.ts';
import { computeDora, parseAuditLine, percentiles, renderDora, renderPrometheus, shaOfVersion, type HostRecords } from '../../../src/stats/dora.ts';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000);
const rec = (event: ReleaseRecord['event'], version: string, run: string, min: number, from?: string): ReleaseRecord => ({ event, version, run, since: at(min).toISOString(), image: `img:${version}`, container: `api-${version}-${run}`, by: 'ci', ...(from ? { from } : {}) });
const audit = (run: string, min: number, msg: string) => auditLine(at(min), 'ci@runner', run, msg);
const DAY = { since: T0, until: T0 + 86_400_000 };
const dora = (hosts: HostRecords[], commits = new Map<string, number>(), window = DAY) => computeDora('production', hosts, commits, window);

describe('parsing', () => {
  it('audit lines: surrounding whitespace trimmed; a line whose date does not parse, or without run=, is not one', () => {
    expect(parseAuditLine('  2026-12-01T10:00:00.000Z a@b run=x1 deploy v1 started  \n')).toEqual({ at: Date.parse('2026-12-01T10:00:00.000Z'), by: 'a@b', run: 'x1', message: 'deploy v1 started' });
    expect(parseAuditLine('2026-12-01T10:00:00.000Z a@b  \trun=x1 deploy v1 started')).toMatchObject({ by: 'a@b', run: 'x1', message: 'deploy v1 started' });
    expect(parseAuditLine('2026-12-01T10:00:00.000Z  a@b\trun=x1   deploy v1 started')).toEqual({ at: Date.parse('2026-12-01T10:00:00.000Z'), by: 'a@b', run: 'x1', message: 'deploy v1 started' });
    expect(parseAuditLine('2026-13-45T99:00:00.000Z a@b run=x1 deploy v1 started')).toBeUndefined();
    expect(parseAuditLine('2026-12-01T10:00:00.000Z a@b x1 deploy v1 started')).toBeUndefined();
    expect(parseAuditLine('at 2026-12-01T10:00:00.000Z a@b run=x1 deploy')).toBeUndefined();
    expect(parseAuditLine('2026-12-01 a@b run=x1 deploy')).toBeUndefined();
  });
  it('version shas: 7 to 40 hex digits at the end, after a dash', () => {
    expect(shaOfVersion(`2.0.0-${'a'.repeat(40)}`)).toBe('a'.repeat(40));
    expect(shaOfVersion('2.0.0-abc123')).toBeUndefined();
    expect(shaOfVersion(`2.0.0-${'a'.repeat(41)}`)).toBeUndefined();
    expect(shaOfVersion('2.0.0-abc1234x')).toBeUndefined();
    expect(shaOfVersion('2.0.0-ABC1234')).toBeUndefined();
    expect(shaOfVersion('2.0.0abc1234')).toBeUndefined();
    expect(shaOfVersion('2.0.0-abc1234-dirty')).toBe('abc1234');
    expect(shaOfVersion('2.0.0-abc1234-dirtyx')).toBeUndefined();
  });
  it('percentiles by nearest rank, rounded to 0.1', () => {
    expect(percentiles([4, 1, 3, 2])).toEqual({ count: 4, p50: 2, p90: 4, max: 4 });
    const ten = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1];
    expect(percentiles(ten)).toEqual({ count: 10, p50: 5, p90: 9, max: 10 });
    expect(percentiles([1.26])).toEqual({ count: 1, p50: 1.3, p90: 1.3, max: 1.3 });
    expect(percentiles([100, 20, 3])).toEqual({ count: 3, p50: 20, p90: 100, max: 100 });
  });
});

describe('deploy runs from audit lines', () => {
  it('one run on several hosts is one deploy: earliest start, earliest end', () => {
    const host = (name: string, off: number): HostRecords => ({ host: name, releases: [], audit: ['not an audit line', audit('d1', 10 + off, 'deploy 1.0.0 started'), '', audit('d1', 12 + off, 'deploy 1.0.0 succeeded')] });
    const s = dora([host('web2', 1), host('web1', 0)]);
    expect(s.deploys).toEqual({ attempted: 1, succeeded: 1, failed: 0, successRate: 1, perDay: 1 });
    expect(s.deploySeconds).toEqual({ count: 1, p50: 120, p90: 120, max: 120 });
  });
  it('a run with only its end line counts in the window by its end; one with only a start has no outcome', () => {
    const s = dora([{ host: 'web1', releases: [], audit: [audit('d1', 10, 'deploy 1.0.0 failed: pull'), audit('d2', 20, 'deploy 1.0.1 started (rolling)')] }]);
    expect(s.deploys).toEqual({ attempted: 2, succeeded: 0, failed: 1, successRate: 0, perDay: 0 });
    expect(s.deploySeconds).toEqual({ count: 0 });
    expect(s.rollbacks).toEqual({ count: 0, automatic: 0, byCommand: 0, perDeploy: 0 });
  });
  it('the window includes both of its ends and nothing outside', () => {
    const s = dora([{ host: 'web1', releases: [], audit: [
      audit('a', 0, 'deploy 1.0.0 started'), audit('a', 1, 'deploy 1.0.0 succeeded'),
      audit('b', 1440, 'deploy 1.0.1 started'), audit('b', 1441, 'deploy 1.0.1 succeeded'),
      audit('c', -1, 'deploy 1.0.2 started'), audit('c', 1, 'deploy 1.0.2 succeeded'),
      audit('d', 1441, 'deploy 1.0.3 started'),
    ] }]);
    expect(s.deploys.attempted).toBe(2);
    expect(s.deploys.succeeded).toBe(2);
  });
  it('an --env-only deploy counts, with no version to find a commit for', () => {
    const s = dora([{ host: 'web1', releases: [], audit: [audit('e', 5, 'deploy --env-only started'), audit('e', 6, 'deploy --env-only succeeded')] }], new Map([['abc1234', T0]]));
    expect(s.deploys.succeeded).toBe(1);
    expect(s.leadTimeSeconds).toEqual({ count: 0, unknownCommit: 1 });
  });
  it('lead time: an unknown commit, a version without a sha, a commit dated after the deploy (clock skew: 0)', () => {
    const s = dora([{ host: 'web1', releases: [], audit: [
      audit('a', 10, 'deploy 1.0.0-aaaaaaa succeeded'), audit('b', 20, 'deploy 1.0.0 succeeded'), audit('c', 30, 'deploy 1.0.0-ccccccc succeeded'), audit('d', 40, 'deploy 1.0.0-ddddddd succeeded'),
    ] }], new Map([['ccccccc', T0 + 31 * 60_000], ['ddddddd', T0 + 10 * 60_000]]));
    expect(s.leadTimeSeconds).toEqual({ count: 2, p50: 0, p90: 1800, max: 1800, unknownCommit: 2 });
  });
  it('rollbacks by command: duration from the line, once per run however many hosts log it, only in the window', () => {
    const line = (run: string, min: number, secs: string) => audit(run, min, `rollback web1:1.1.0->1.0.0 in ${secs}s`);
    const hosts = ['web1', 'web2'].map((host) => ({ host, releases: [], audit: [line('r1', 10, '2.25'), line('r2', 20, '4'), line('r3', -5, '9'), audit('r4', 30, 'rollback refused: locked')] }));
    const s = dora(hosts);
    expect(s.rollbacks).toEqual({ count: 2, automatic: 0, byCommand: 2 });
    expect(s.rollbackSeconds).toEqual({ count: 2, p50: 2.3, p90: 4, max: 4 });
  });
  it('an empty window: no rates, nothing per deploy, at least an hour long', () => {
    const s = dora([], new Map(), { since: T0, until: T0 });
    expect(s).toEqual({
      env: 'production', since: '2026-11-01T00:00:00.000Z', until: '2026-11-01T00:00:00.000Z', days: 0.04,
      deploys: { attempted: 0, succeeded: 0, failed: 0, perDay: 0 },
      leadTimeSeconds: { count: 0, unknownCommit: 0 },
      changeFailure: { changes: 0, failed: 0, versions: [] },
      timeToRestoreSeconds: { count: 0 }, deploySeconds: { count: 0 },
      rollbacks: { count: 0, automatic: 0, byCommand: 0 }, rollbackSeconds: { count: 0 },
    });
  });
  it('frequency per day over a long window, rounded to 0.01', () => {
    const lines = [0, 1, 2].map((i) => audit(`d${i}`, i, `deploy 1.0.${i} succeeded`));
    expect(dora([{ host: 'web1', releases: [], audit: lines }], new Map(), { since: T0, until: T0 + 7 * 86_400_000 }).deploys).toMatchObject({ perDay: 0.43, successRate: 1 });
    expect(dora([{ host: 'web1', releases: [], audit: lines }], new Map(), { since: T0, until: T0 + 7 * 86_400_000 }).days).toBe(7);
  });
});

describe('change failures and time to restore', () => {
  const ok = (run: string, v: string, s: number, e: number) => [audit(run, s, `deploy ${v} started`), audit(run, e, `deploy ${v} succeeded`)];
  it('first switch is the earliest of any host (whatever order hosts come in); restored at the last host back', () => {
    const hosts: HostRecords[] = [
      { host: 'web2', releases: [rec('deployed', '2', 'd2', 13), rec('rolled-back', '1', 'd2', 16, '2')], audit: [audit('d2', 10, 'deploy 2 started'), audit('d2', 17, 'deploy 2 failed: web2')] },
      { host: 'web1', releases: [rec('deployed', '2', 'd2', 11), rec('rolled-back', '1', 'd2', 15, '2'), rec('deployed', '3', 'd3', 21, '1')], audit: [audit('d3', 20, 'deploy 3 started'), audit('d3', 22, 'deploy 3 succeeded')] },
    ];
    const s = dora(hosts);
    // d3, the last record on web1, went fine: only d2 failed.
    expect(s.changeFailure).toEqual({ changes: 2, failed: 1, rate: 0.5, versions: ['2'] });
    expect(s.timeToRestoreSeconds).toEqual({ count: 1, p50: 300, p90: 300, max: 300 });
    expect(s.rollbacks).toEqual({ count: 1, automatic: 1, byCommand: 0, perDeploy: 0.5 });
    expect(s.deploys).toMatchObject({ succeeded: 1, failed: 1, successRate: 0.5 });
  });
  it('rolled back later by command: from its success to the last host back; reconcile records in between do not hide it', () => {
    const hosts: HostRecords[] = ['web1', 'web2'].map((host, i) => ({
      host,
      releases: [rec('deployed', '2', 'd2', 11 + i), rec('reconciled', '2', 'x', 20), rec('rollback', '1', 'r1', 40 + i * 2, '2')],
      audit: ok('d2', '2', 10, 14),
    }));
    expect(dora(hosts).timeToRestoreSeconds).toEqual({ count: 1, p50: 1680, p90: 1680, max: 1680 });
    expect(dora(hosts).changeFailure).toMatchObject({ failed: 1, versions: ['2'] });
    // Restored by command: not an automatic rollback (the command's own audit line counts it).
    expect(dora(hosts).rollbacks).toMatchObject({ automatic: 0 });
  });
  it('a rollback after another deploy on that host, or away from another version, is not this change failing', () => {
    const hosts: HostRecords[] = [{
      host: 'web1',
      releases: [rec('deployed', '2', 'd2', 11, '1'), rec('deployed', '3', 'd3', 21, '2'), rec('rollback', '2', 'r1', 30, '3'), rec('rollback', '1', 'r2', 35, '2')],
      audit: [...ok('d2', '2', 10, 12), ...ok('d3', '3', 20, 22)],
    }];
    const s = dora(hosts);
    expect(s.changeFailure).toEqual({ changes: 2, failed: 1, rate: 0.5, versions: ['3'] });
    expect(s.timeToRestoreSeconds.max).toBe(480);
  });
  it('a redeploy of the same version: only the run a rollback went back from failed', () => {
    const hosts: HostRecords[] = [{
      host: 'web1',
      releases: [rec('deployed', '2', 'd2', 11, '1'), rec('deployed', '2', 'd2b', 21, '2'), rec('rollback', '1', 'r1', 30, '2')],
      audit: [...ok('d2', '2', 10, 12), ...ok('d2b', '2', 20, 22)],
    }];
    const s = dora(hosts);
    expect(s.changeFailure).toEqual({ changes: 2, failed: 1, rate: 0.5, versions: ['2'] });
    expect(s.timeToRestoreSeconds.max).toBe(480);
  });
  it('a rollback away from another version (the records caught up in between) is not this change failing', () => {
    const hosts: HostRecords[] = [{ host: 'web1', releases: [rec('deployed', '2', 'd2', 11, '1'), rec('reconciled', '9', 'x', 20, '2'), rec('rollback', '1', 'r1', 30, '9')], audit: ok('d2', '2', 10, 12) }];
    expect(dora(hosts).changeFailure).toEqual({ changes: 1, failed: 0, rate: 0, versions: [] });
  });
  it('a deploy that only reconciled a host before failing switched nothing: not a change', () => {
    const hosts: HostRecords[] = [{ host: 'web1', releases: [rec('deployed', '1', 'd1', 5), rec('reconciled', '1', 'd4', 10)], audit: [...ok('d1', '1', 4, 6), audit('d4', 10, 'deploy 4 started'), audit('d4', 11, 'deploy 4 failed: pull')] }];
    expect(dora(hosts).changeFailure).toEqual({ changes: 1, failed: 0, rate: 0, versions: [] });
  });
  it('records of a run the audit does not know, or outside the window, are not changes', () => {
    const hosts: HostRecords[] = [{ host: 'web1', releases: [rec('deployed', '2', 'ghost', 11), rec('deployed', '3', 'd3', -30), rec('rolled-back', '1', 'ghost', 12, '2')], audit: ok('d3', '3', -31, -29) }];
    expect(dora(hosts).changeFailure).toEqual({ changes: 0, failed: 0, versions: [] });
  });
  it('a failed deploy whose hosts went back has no success: restore counted from its first switch', () => {
    const hosts: HostRecords[] = [{ host: 'web1', releases: [rec('deployed', '2', 'd2', 11), rec('rollback', '1', 'r1', 13, '2')], audit: [audit('d2', 10, 'deploy 2 started'), audit('d2', 12, 'deploy 2 failed: bake')] }];
    expect(dora(hosts).timeToRestoreSeconds).toEqual({ count: 1, p50: 120, p90: 120, max: 120 });
  });
  it('a restore dated before its success (clock skew between hosts) counts 0', () => {
    const hosts: HostRecords[] = [{ host: 'web1', releases: [rec('deployed', '2', 'd2', 11), rec('rollback', '1', 'r1', 12, '2')], audit: ok('d2', '2', 10, 14) }];
    expect(dora(hosts).timeToRestoreSeconds.max).toBe(0);
  });
  describe('a smoke or guard failure found in production: time to restore starts at the first one between the change and its restore', () => {
    // 2 deployed by d2 (success at 12), rolled back by command at 30: 18 min without a detection.
    const story = (...detections: [number, string][]): HostRecords[] => [{
      host: 'web1',
      releases: [rec('deployed', '2', 'd2', 11, '1'), rec('rollback', '1', 'r1', 30, '2')],
      audit: [...ok('d2', '2', 10, 12), ...detections.map(([min, reason]) => audit('r1', min, `failure detected in 2: ${reason}`))],
    }];
    it('the earliest detection from the success on, at the success itself included; earlier ones and other versions ignored', () => {
      expect(dora(story([5, 'guard: early'], [25, 'smoke failed'], [12, 'guard failed: error_rate 9 % > 5 %'], [31, 'late'])).timeToRestoreSeconds.max).toBe(1080);
      expect(dora(story([5, 'before the change'], [25, 'smoke failed'])).timeToRestoreSeconds.max).toBe(300);
    });
    it('up to the restore itself included; one after it does not count (the change reaching production does)', () => {
      expect(dora(story([30, 'smoke failed'])).timeToRestoreSeconds.max).toBe(0);
      expect(dora(story([31, 'smoke failed'])).timeToRestoreSeconds.max).toBe(1080);
    });
    it('the reason is free text: words of other audit lines in it change nothing', () => {
      expect(dora(story([20, 'guard quoted: deploy 2 failure detected: web1'])).timeToRestoreSeconds.max).toBe(600);
      const hosts = story([20, 'smoke failed']);
      hosts[0]!.audit = [...hosts[0]!.audit, audit('d3', 40, 'deploy 3 started'), audit('d3', 41, 'deploy 3 failed: hook said failure detected in 2: smoke')];
      const s = dora(hosts);
      expect(s.deploys).toMatchObject({ attempted: 2, succeeded: 1, failed: 1 });
      expect(s.timeToRestoreSeconds.max).toBe(600);
    });
  });
});

describe('renderings', () => {
  const base = dora([]);
  it('an empty window in words', () => {
    expect(renderDora(base)).toBe([
      'production: 2026-11-01 .. 2026-11-02 (1 days)',
      '  deployment frequency  0/day (0 succeeded of 0)',
      '  lead time for changes none',
      '  change failure rate   - (0 of 0 changes)',
      '  time to restore       none',
      '  deploy duration       none',
      '  rollbacks             0 (0 automatic, 0 by command); duration none',
    ].join('\n'));
  });
  it('durations in s, m, h, d at each unit boundary; unknown commits and failed versions named', () => {
    const p = (x: number[]) => percentiles(x);
    const text = renderDora({
      ...base,
      deploys: { attempted: 3, succeeded: 2, failed: 1, successRate: 0.667, perDay: 2 },
      leadTimeSeconds: { ...p([59, 60, 3599]), unknownCommit: 2 },
      changeFailure: { changes: 3, failed: 1, rate: 0.333, versions: ['1.2.0'] },
      timeToRestoreSeconds: p([3600, 86_399, 86_400]),
      deploySeconds: p([129_600]),
    });
    expect(text).toContain('  deployment frequency  2/day (2 succeeded of 3, success rate 66.7 %)');
    expect(text).toContain('  lead time for changes p50 1m, p90 60m, max 60m (3); 2 without a known commit');
    expect(text).toContain('  change failure rate   33.3 % (1 of 3 changes: 1.2.0)');
    expect(text).toContain('  time to restore       p50 24h, p90 1d, max 1d (3)');
    expect(text).toContain('  deploy duration       p50 1.5d, p90 1.5d, max 1.5d (1)');
    expect(renderDora({ ...base, leadTimeSeconds: { ...p([59.94]), unknownCommit: 0 } })).toContain('lead time for changes p50 59.9s, p90 59.9s, max 59.9s (1)\n');
    expect(renderDora({ ...base, deploySeconds: p([60, 3600, 86_400]) })).toContain('deploy duration       p50 1h, p90 1d, max 1d (3)\n');
  });
  it('prometheus: a figure that does not exist is left out, not written as 0; each metric once with HELP and TYPE', () => {
    const prom = renderPrometheus(base, 'api');
    expect(prom).not.toContain('pier_change_failure_rate');
    expect(prom).not.toContain('pier_lead_time_seconds');
    expect(prom.endsWith('\n')).toBe(true);
    expect(prom).toBe([
      '# HELP pier_deploys_total Deploy runs in the window (1 days) by result',
      '# TYPE pier_deploys_total gauge',
      'pier_deploys_total{app="api",env="production",result="succeeded"} 0',
      'pier_deploys_total{app="api",env="production",result="failed"} 0',
      '# HELP pier_deployment_frequency_per_day Successful deploys per day over the window',
      '# TYPE pier_deployment_frequency_per_day gauge',
      'pier_deployment_frequency_per_day{app="api",env="production"} 0',
      '# HELP pier_rollbacks_total Rollbacks in the window',
      '# TYPE pier_rollbacks_total gauge',
      'pier_rollbacks_total{app="api",env="production",kind="automatic"} 0',
      'pier_rollbacks_total{app="api",env="production",kind="command"} 0',
      '',
    ].join('\n'));
  });
  it('prometheus quantiles and help of every metric present', () => {
    const s = { ...base, changeFailure: { changes: 2, failed: 1, rate: 0.5, versions: ['v'] }, timeToRestoreSeconds: percentiles([10, 20]), deploySeconds: percentiles([30]), leadTimeSeconds: { ...percentiles([5]), unknownCommit: 0 } };
    const prom = renderPrometheus(s, 'web');
    expect(prom).toContain('# HELP pier_change_failure_rate Share of changes that reached production and were rolled back\n# TYPE pier_change_failure_rate gauge\npier_change_failure_rate{app="web",env="production"} 0.5\n');
    expect(prom).toContain('# HELP pier_time_to_restore_seconds Failed change in production to every host restored\n# TYPE pier_time_to_restore_seconds gauge\n');
    expect(prom).toContain('pier_time_to_restore_seconds{app="web",env="production",quantile="0.5"} 10\npier_time_to_restore_seconds{app="web",env="production",quantile="0.9"} 20\npier_time_to_restore_seconds{app="web",env="production",quantile="1"} 20\n');
    expect(prom).toContain('# HELP pier_deploy_duration_seconds Deploy run duration\n# TYPE pier_deploy_duration_seconds gauge\npier_deploy_duration_seconds{app="web",env="production",quantile="0.5"} 30\n');
    expect(prom).toContain('# HELP pier_lead_time_seconds Commit to successful deploy\n# TYPE pier_lead_time_seconds gauge\npier_lead_time_seconds{app="web",env="production",quantile="0.5"} 5\n');
  });
});
