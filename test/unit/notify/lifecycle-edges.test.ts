// Which notifications a deploy, a rollback and the steps after a deploy produce: the fields each
// carries and the cases the happy-path tests in notify.test.ts leave out (mutation testing's
// survivors: a failure seen before the rollback, a digest that is not one, the smoke rollback).
import { describe, expect, it } from 'vitest';
import type { DeployReport } from '../../../src/deploy/deploy.ts';
import { Progress } from '../../../src/deploy/progress.ts';
import { afterStepsEmissions, deployEndEmissions, manualRollbackEmissions, watchDeploy, type Emission } from '../../../src/notify/lifecycle.ts';
import type { Notifier } from '../../../src/notify/notifier.ts';
import type { ReleaseStep } from '../../../src/release/report.ts';

function recorder(): { notifier: Notifier; emitted: Emission[] } {
  const emitted: Emission[] = [];
  return { notifier: { emit: (e: Emission[0], f: Emission[1]) => void emitted.push([e, f]) } as unknown as Notifier, emitted };
}

describe('watchDeploy: rollback.triggered once, when switching back starts, with the failure seen last', () => {
  const setup = () => {
    const progress = new Progress(() => {});
    const r = recorder();
    watchDeploy(r.notifier, progress, 'v2', ['web1', 'web2']);
    return { progress, ...r };
  };

  it('nothing before rolling-back; the last failure (with its detail) is the reason', () => {
    const { progress, emitted } = setup();
    progress.step('web1', 'switched');
    progress.step('web1', 'unhealthy', 'health 503');
    progress.step('web2', 'failed');
    expect(emitted).toEqual([]);
    progress.step('web1', 'rolling-back', 'to v1');
    expect(emitted).toEqual([['rollback.triggered', { version: 'v2', hosts: ['web1', 'web2'], reason: 'web2: failed' }]]);
    // A second host rolling back does not send it again.
    progress.step('web2', 'rolling-back');
    expect(emitted).toHaveLength(1);
  });

  it('a failure detail is named in brackets; interrupted counts as a failure; other phases do not', () => {
    const { progress, emitted } = setup();
    progress.step('web1', 'interrupted', 'SIGINT');
    progress.step('web1', 'healthy', 'ok');
    progress.step('web1', 'rolling-back');
    expect(emitted[0]![1].reason).toBe('web1: interrupted (SIGINT)');
  });

  it('a failure whose detail mentions failing is still named by its phase, with the detail in brackets', () => {
    const { progress, emitted } = setup();
    progress.step('web2', 'failed', 'health check failed, rolling out stopped');
    progress.step('web2', 'rolling-back');
    expect(emitted[0]![1].reason).toBe('web2: failed (health check failed, rolling out stopped)');
  });

  it('an analysis that failed or rolled back is a reason; a passing analysis is not', () => {
    const a = setup();
    a.progress.step('web1', 'analysis', 'FAILED: error rate 9 %');
    a.progress.step('web1', 'analysis', 'passed: 0 errors');
    a.progress.step('web1', 'rolling-back');
    expect(a.emitted[0]![1].reason).toBe('web1: FAILED: error rate 9 %');
    const b = setup();
    b.progress.step('web2', 'analysis', 'verdict: Rollback');
    b.progress.step('web2', 'rolling-back');
    expect(b.emitted[0]![1].reason).toBe('web2: verdict: Rollback');
    const c = setup();
    c.progress.step('web2', 'analysis', 'passed');
    c.progress.step('web2', 'analysis');
    c.progress.step('web2', 'rolling-back');
    expect(c.emitted[0]![1].reason).toBe('the deploy failed');
  });
});

describe('deployEndEmissions: fields', () => {
  const base: DeployReport = { run: 'r', env: 'production', version: 'v2', ok: true, exitCode: 0, seconds: 9, lock: { released: [], held: [] }, timeline: [], hosts: [] } as unknown as DeployReport;
  it('succeeded: version, digest of a pinned image, every host, duration', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    expect(deployEndEmissions({ ...base, image: `reg/app@${digest}`, hosts: [{ host: 'web1', status: 'deployed', serving: 'v2' }, { host: 'web2', status: 'deployed', serving: 'v2' }] } as DeployReport)).toEqual([
      ['deploy.succeeded', { version: 'v2', digest, hosts: ['web1', 'web2'], durationSeconds: 9 }],
    ]);
  });
  it('no digest for an image by tag, a digest not at the end, or a short one', () => {
    for (const image of ['reg/app:v2', `reg/app@sha256:${'c'.repeat(64)}x`, `reg/app@sha256:${'c'.repeat(63)}`, `reg/app@sha256:${'C'.repeat(64)}`, undefined]) {
      expect(deployEndEmissions({ ...base, image } as DeployReport)[0]![1].digest).toBeUndefined();
    }
  });
  it('failed without an error: reason "failed"; rollback.done names the version served and only the hosts that went back', () => {
    const out = deployEndEmissions({ ...base, ok: false, exitCode: 1, hosts: [{ host: 'web1', status: 'failed', serving: 'v1' }, { host: 'web2', status: 'rolled-back', serving: 'v1b' }, { host: 'web3', status: 'rolled-back', serving: 'v1' }] } as DeployReport);
    expect(out).toEqual([
      ['rollback.done', { version: 'v1b', hosts: ['web2', 'web3'], durationSeconds: 9, reason: undefined }],
      ['deploy.failed', { version: 'v2', digest: undefined, hosts: ['web1', 'web2', 'web3'], durationSeconds: 9, reason: 'failed' }],
    ]);
  });
});

describe('afterStepsEmissions', () => {
  const step = (s: Partial<ReleaseStep> & Pick<ReleaseStep, 'name'>): ReleaseStep => ({ status: 'passed', seconds: 2, summary: '', ...s });
  it('a paused guard fires too; without a rollback in its detail nothing else goes out', () => {
    expect(afterStepsEmissions([step({ name: 'guard', status: 'paused', summary: 'paused: p99 high\nx' })], 'v2', ['web1'])).toEqual([['guard.fired', { version: 'v2', hosts: ['web1'], reason: 'paused: p99 high' }]]);
    expect(afterStepsEmissions([step({ name: 'guard', status: 'skipped', summary: 'no guard' })], 'v2', ['web1'])).toEqual([]);
  });
  it("a guard's rollback: where it went, which hosts, how long; an incomplete one says so", () => {
    const rollback = { ok: false, version: 'v1', seconds: 3.5, hosts: [{ host: 'web2' }] };
    const out = afterStepsEmissions([step({ name: 'guard', status: 'failed', summary: 'failed', detail: { rollback } })], 'v2', ['web1', 'web2']);
    expect(out[2]).toEqual(['rollback.done', { version: 'v1', hosts: ['web2'], durationSeconds: 3.5, reason: 'incomplete' }]);
    const ok = afterStepsEmissions([step({ name: 'guard', status: 'failed', summary: 'failed', detail: { rollback: { ...rollback, ok: true } } })], 'v2', ['web1']);
    expect(ok[2]![1]).not.toHaveProperty('reason');
  });
  it('a rollback step after a failed smoke: triggered with the smoke summary, done with the step figures', () => {
    const steps = [step({ name: 'smoke', status: 'failed', summary: 'GET /health 503\nbody' }), step({ name: 'rollback', status: 'passed', seconds: 4, summary: 'back on v1', detail: { ok: true, version: 'v1', seconds: 4, hosts: [] } })];
    expect(afterStepsEmissions(steps, 'v2', ['web1'])).toEqual([
      ['rollback.triggered', { version: 'v2', hosts: ['web1'], reason: 'smoke failed: GET /health 503' }],
      ['rollback.done', { version: 'v1', hosts: ['web1'], durationSeconds: 4 }],
    ]);
    const failed = afterStepsEmissions([step({ name: 'rollback', status: 'failed', seconds: 1, summary: 'web1 unreachable\nmore' })], 'v2', ['web1']);
    expect(failed).toEqual([
      ['rollback.triggered', { version: 'v2', hosts: ['web1'], reason: 'smoke failed: ' }],
      ['rollback.done', { version: undefined, hosts: ['web1'], durationSeconds: 1, reason: 'web1 unreachable' }],
    ]);
  });
});

describe('manualRollbackEmissions', () => {
  it('every host named, the version gone back to and the duration', () => {
    expect(manualRollbackEmissions('ops', { ok: false, version: 'v1', seconds: 2.5, hosts: [{ host: 'web1', ok: false }, { host: 'web2', ok: true }, { host: 'web3', ok: false }] })).toEqual([
      ['rollback.done', { version: 'v1', hosts: ['web1', 'web2', 'web3'], durationSeconds: 2.5, reason: 'incomplete: web1, web3 did not switch' }],
    ]);
  });
});
