import { describe, expect, it } from 'vitest';
import { errorStats, overThreshold, parseAccessLog, sumStats } from '../../../src/deploy/access-log.ts';
import { mapLimit } from '../../../src/deploy/executor.ts';
import { formatEvent, renderTimeline } from '../../../src/deploy/progress.ts';
import { auditLine, describeHolder, parseLock, parseReleases } from '../../../src/deploy/records.ts';
import { rollingBatches } from '../../../src/deploy/strategies/rolling.ts';

describe('rolling batches', () => {
  it('puts the first host alone (the barrier), then batches of the configured size', () => {
    expect(rollingBatches(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
    expect(rollingBatches(['a', 'b', 'c'], 1)).toEqual([['a'], ['b'], ['c']]);
    expect(rollingBatches(['a'], 3)).toEqual([['a']]);
    expect(rollingBatches([], 3)).toEqual([]);
  });
});

describe('access log', () => {
  const log = [
    '{"msec":1.1,"status":200,"upstream":"10.0.0.2:3000","release":"v2","upstream_status":"200","request_time":0.001,"uri":"/"}',
    '{"msec":1.2,"status":500,"upstream":"10.0.0.2:3000","release":"v2","upstream_status":"500","request_time":0.001,"uri":"/"}',
    '{"msec":1.3,"status":502,"upstream":"10.0.0.1:3000","release":"v1","upstream_status":"502","request_time":0.001,"uri":"/"}',
    '{"msec":1.4,"status":200,"upstream":"10.0.0.2:3000","release":"v2"',
    '',
  ].join('\n');
  it('parses JSON lines, skipping a partly written last line', () => {
    expect(parseAccessLog(log)).toHaveLength(3);
  });
  it('counts requests and 5xx per release', () => {
    const e = parseAccessLog(log);
    expect(errorStats(e, 'v2')).toEqual({ requests: 2, errors: 1, rate: 0.5 });
    expect(errorStats(e, 'v1')).toEqual({ requests: 1, errors: 1, rate: 1 });
    expect(errorStats(e, 'v9')).toEqual({ requests: 0, errors: 0, rate: 0 });
    expect(sumStats([{ requests: 2, errors: 1, rate: 0.5 }, { requests: 8, errors: 0, rate: 0 }])).toEqual({ requests: 10, errors: 1, rate: 0.1 });
  });
  it('judges the threshold only with enough requests', () => {
    expect(overThreshold({ requests: 4, errors: 2, rate: 0.5 }, 0.05, 10)).toBe(false);
    expect(overThreshold({ requests: 40, errors: 12, rate: 0.3 }, 0.05, 10)).toBe(true);
    expect(overThreshold({ requests: 40, errors: 2, rate: 0.05 }, 0.05, 10)).toBe(false);
  });
});

describe('records', () => {
  it('describes the lock holder for a refused deploy', () => {
    const l = parseLock('{"by":"alice@laptop","run":"r1","version":"v5","at":"2026-11-23T18:00:00.000Z","pid":42,"command":"deploy"}\n');
    expect(describeHolder(l!)).toBe('alice@laptop (deploy v5, run r1, since 2026-11-23T18:00:00.000Z)');
    expect(parseLock('')).toBeUndefined();
    expect(parseLock('garbage')?.by).toBe('unknown');
  });
  it('parses release history, skipping bad lines', () => {
    expect(parseReleases('{"version":"v1","event":"deployed"}\nnot json\n{"version":"v2","event":"rolled-back"}\n').map((r) => r.version)).toEqual(['v1', 'v2']);
  });
  it('writes one-line audit entries', () => {
    expect(auditLine(new Date('2026-11-23T18:00:00Z'), 'a@b', 'r1', 'deploy v2 failed: x\n  y')).toBe('2026-11-23T18:00:00.000Z a@b run=r1 deploy v2 failed: x y');
  });
});

describe('mapLimit', () => {
  it('runs at most `limit` at once, keeps order, never rejects', async () => {
    let active = 0;
    let peak = 0;
    const r = await mapLimit([1, 2, 3, 4, 5], 2, async (n) => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((res) => setTimeout(res, 10));
      active -= 1;
      if (n === 3) throw new Error('three');
      return n * 10;
    });
    expect(peak).toBe(2);
    expect(r.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message))).toEqual([10, 20, 'three', 40, 50]);
  });
});

describe('progress', () => {
  it('formats per-host lines and a timeline', () => {
    expect(formatEvent({ host: 'web1', phase: 'switched', t: 8.44 })).toBe('  web1       switched     +8.4s');
    expect(renderTimeline([
      { host: 'web1', phase: 'pulling', t: 0.9 },
      { host: 'web2', phase: 'pulling', t: 10.5 },
      { host: 'web1', phase: 'healthy', t: 7.3 },
    ])).toBe('  web1       pulling@0.9s → healthy@7.3s\n  web2       pulling@10.5s');
  });
});
