import { describe, expect, it } from 'vitest';
import { parseAccessLog, type AccessEntry } from '../../../src/deploy/access-log.ts';
import { analyseCanary } from '../../../src/analysis/canary.ts';
import { formatAnalysis, percentile, releaseStats, stepWeights, type CanaryThresholds } from '../../../src/deploy/canary-analysis.ts';
import { renderProxyConf } from '../../../src/deploy/commands/nginx.ts';
import { scheduleStop } from '../../../src/deploy/commands/retire.ts';
import { strategyFor } from '../../../src/deploy/strategies/index.ts';
import { CanaryError, stopsRollout } from '../../../src/deploy/strategies/canary.ts';
import { Canary } from '../../../src/config/sections/environment.ts';

const t: CanaryThresholds = { minRequests: 10, maxErrorRate: 0.05, maxErrorRateIncrease: 0.02, maxP95Ratio: 1.5, p95SlackMs: 50 };
const OLD = '172.18.0.3:3000';
const NEW = '172.18.0.4:3000';

/** n requests to a release, `errors` of them 500, each taking `ms`. */
function reqs(release: string, upstream: string, n: number, errors = 0, ms = 5): AccessEntry[] {
  return Array.from({ length: n }, (_, i) => ({ msec: 1000 + i, status: i < errors ? 500 : 200, upstream, release, requestTime: ms / 1000 }));
}

describe('canary analysis', () => {
  it('percentile is nearest-rank', () => {
    expect(percentile([], 95)).toBeUndefined();
    expect(percentile([5], 95)).toBe(5);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 95)).toBe(95);
    expect(percentile([10, 1, 3, 2], 50)).toBe(2);
  });

  it('promotes a healthy canary', () => {
    const a = analyseCanary({ web1: [...reqs('v1', OLD, 90), ...reqs('v2', NEW, 10)] }, { step: 1, percent: 10, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(a.verdict).toBe('promote');
    expect(a.reasons).toEqual([]);
    expect(a.canary).toEqual({ requests: 10, errors: 0, errorRate: 0, p95Ms: 5 });
    expect(a.baseline.requests).toBe(90);
  });

  it('rolls back a canary failing 30 % with the reason, per upstream rows for every host', () => {
    const a = analyseCanary(
      new Map([
        ['web1', [...reqs('v1', OLD, 50), ...reqs('v2', NEW, 10, 3)]],
        ['web2', [...reqs('v1', '172.18.0.5:3000', 50, 1), ...reqs('v2', '172.18.0.6:3000', 10, 3)]],
      ]),
      { step: 1, percent: 10, canary: 'v2', baseline: 'v1', thresholds: t },
    );
    expect(a.verdict).toBe('rollback');
    expect(a.canary).toMatchObject({ requests: 20, errors: 6, errorRate: 0.3 });
    expect(a.baseline).toMatchObject({ requests: 100, errors: 1, errorRate: 0.01 });
    expect(a.reasons).toEqual(['error rate 30.0% (6/20) > 5.0% and > old 1.0% + 2.0%']);
    expect(a.upstreams.map((u) => `${u.host} ${u.role} ${u.upstream} ${u.requests}/${u.errors}`)).toEqual([
      `web1 baseline ${OLD} 50/0`,
      `web1 canary ${NEW} 10/3`,
      'web2 baseline 172.18.0.5:3000 50/1',
      'web2 canary 172.18.0.6:3000 10/3',
    ]);
    const text = formatAnalysis(a, 'v2', 'v1').join('\n');
    expect(text).toMatch(/^canary step 1 \(10%\): rollback — error rate 30\.0%/);
    expect(text).toContain('web2     canary   172.18.0.6:3000');
  });

  it('a release failing on one host only is caught on that host, though the fleet average looks fine', () => {
    const perHost = {
      web1: [...reqs('v1', OLD, 100), ...reqs('v2', NEW, 40)],
      web2: [...reqs('v1', '172.18.0.5:3000', 100), ...reqs('v2', '172.18.0.6:3000', 40)],
      web3: [...reqs('v1', '172.18.0.7:3000', 100), ...reqs('v2', '172.18.0.8:3000', 10, 4)],
    };
    const a = analyseCanary(perHost, { step: 1, percent: 10, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(a.canary.errorRate).toBeCloseTo(4 / 90); // under 5 % fleet-wide
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['web3: error rate 40.0% (4/10) > 5.0% and > old 0.0% + 2.0%']);
  });

  it('does not roll back when the old release errors just as much (a shared dependency is down)', () => {
    const a = analyseCanary({ web1: [...reqs('v1', OLD, 100, 30), ...reqs('v2', NEW, 20, 6)] }, { step: 2, percent: 25, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(a.verdict).toBe('promote');
  });

  it('rolls back on p95 latency only when both ratio and slack are exceeded', () => {
    const slow = analyseCanary({ web1: [...reqs('v1', OLD, 50, 0, 20), ...reqs('v2', NEW, 20, 0, 200)] }, { step: 1, percent: 10, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(slow.verdict).toBe('rollback');
    expect(slow.reasons).toEqual(['p95 200 ms > old 20 ms x 1.5 (+50 ms slack)']);
    // 3 ms -> 8 ms is 2.6x but within the 50 ms slack: noise, not a regression.
    const noise = analyseCanary({ web1: [...reqs('v1', OLD, 50, 0, 3), ...reqs('v2', NEW, 20, 0, 8)] }, { step: 1, percent: 10, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(noise.verdict).toBe('promote');
  });

  it('is inconclusive below minRequests, and ignores retried requests of no release', () => {
    const a = analyseCanary({ web1: [...reqs('v2', NEW, 9, 9), { msec: 1, status: 502, upstream: `${OLD}, ${NEW}`, release: '' }] }, { step: 1, percent: 10, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(a.verdict).toBe('inconclusive');
    expect(a.reasons).toEqual(['9 requests on the new release, 10 needed to judge']);
    expect(a.upstreams).toHaveLength(1);
  });

  it('at 100 % (the old release gets no traffic) a failing canary is judged against 0 % and rolled back; a healthy one promotes', () => {
    const bad = analyseCanary(new Map([['web1', reqs('v2', NEW, 30, 6)], ['web2', reqs('v2', '172.18.0.6:3000', 30, 0)]]), { step: 3, percent: 100, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(bad.verdict).toBe('rollback');
    expect(bad.reasons).toEqual(['error rate 10.0% (6/60) > 5.0% and > old 0.0% + 2.0%']);
    const good = analyseCanary(new Map([['web1', reqs('v2', NEW, 30)], ['web2', reqs('v2', '172.18.0.6:3000', 5)]]), { step: 3, percent: 100, canary: 'v2', baseline: 'v1', thresholds: t });
    // web2's 5 requests are too few to judge on their own: not judged, and not inconclusive.
    expect(good.verdict).toBe('promote');
  });

  it('host names that are not value names (dashes, digits first) still get per-host rules', () => {
    const a = analyseCanary(new Map([['prod-a', reqs('v2', NEW, 60)], ['9b', [...reqs('v1', OLD, 40), ...reqs('v2', '172.18.0.6:3000', 10, 5)]], ['prod-c', reqs('v2', NEW, 60)]]), { step: 1, percent: 10, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(a.verdict).toBe('rollback');
    expect(a.reasons).toEqual(['9b: error rate 50.0% (5/10) > 5.0% and > old 0.0% + 2.0%']);
  });

  it('deploy.canary.inconclusive: continue (default) goes on past an unjudged step; abort rolls back, saying why', () => {
    const unjudged = analyseCanary({ web1: reqs('v2', NEW, 5) }, { step: 2, percent: 50, canary: 'v2', baseline: 'v1', thresholds: t });
    expect(unjudged.verdict).toBe('inconclusive');
    expect(Canary.parse({}).inconclusive).toBe('continue');
    expect(stopsRollout(unjudged, Canary.parse({}).inconclusive)).toBe(false);
    expect(stopsRollout(unjudged, 'abort')).toBe(true);
    expect(new CanaryError(unjudged).message).toBe('canary rolled back at step 2 (50%): inconclusive (deploy.canary.inconclusive: abort): 5 requests on the new release, 10 needed to judge');
    expect(stopsRollout({ verdict: 'rollback' })).toBe(true);
    expect(stopsRollout({ verdict: 'promote' }, 'abort')).toBe(false);
  });

  it('reads request_time from nginx JSON lines', () => {
    const e = parseAccessLog('{"msec":1.5,"status":200,"upstream":"a:1","release":"v2","upstream_status":"200","request_time":0.012,"uri":"/"}\n');
    expect(e).toEqual([{ msec: 1.5, status: 200, upstream: 'a:1', release: 'v2', requestTime: 0.012 }]);
    expect(releaseStats(e).p95Ms).toBe(12);
  });
});

describe('weighted upstreams and strategies', () => {
  it('step weights: old and new share; 100 % drops the old release', () => {
    expect(stepWeights(10)).toEqual({ old: 90, new: 10 });
    expect(stepWeights(50)).toEqual({ old: 50, new: 50 });
    expect(stepWeights(100)).toEqual({ new: 1 });
  });

  it('renders weighted servers for a canary step', () => {
    const conf = renderProxyConf({ upstreams: [{ address: 'api-v1-a:3000', release: 'v1', weight: 90 }, { address: 'api-v2-b:3000', release: 'v2', weight: 10 }] });
    expect(conf).toContain(`    90% "api-v1-a:3000";\n    * "api-v2-b:3000";`);
    expect(conf).toContain(`    "api-v2-b:3000" "v2";`);
  });

  it('the registry maps deploy.strategy names', () => {
    expect(strategyFor('rolling').name).toBe('rolling');
    expect(strategyFor('blue-green').name).toBe('blue-green');
    expect(strategyFor('canary').name).toBe('canary');
    expect(() => strategyFor('big-bang')).toThrow(/unknown deploy strategy/);
  });

  it('blue/green window: a detached host-side stop, waiting out a held lock, skipped when the container serves again', () => {
    const argv = scheduleStop('app-v1', '/var/lib/pier/app/current.json', 900, '/var/lib/pier/lock');
    expect(argv).toEqual([
      'sh', '-c',
      `nohup sh -c 'sleep "$1"; i=0; while [ -d "$4" ] && [ "$i" -lt 600 ]; do sleep 1; i=$((i+1)); done; grep -qF "\\"container\\":\\"$2\\"" "$3" 2>/dev/null || docker stop --time 10 "$2"' pier-retire "$1" "$2" "$3" "$4" >/dev/null 2>&1 </dev/null &`,
      'sh', '900', 'app-v1', '/var/lib/pier/app/current.json', '/var/lib/pier/lock',
    ]);
  });
});
