/**
 * The release flow on the in-memory simulated hosts (test/sim): promotion by digest and its
 * refusals, and the guard over access logs the test writes as rule time passes, on a manual clock
 * (ten minutes of rule time, no real time; exact figures).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/analysis/clock.ts';
import { Guard } from '../../../src/config/sections/analysis.ts';
import type { Config } from '../../../src/config/schema.ts';
import { deploy } from '../../../src/deploy/deploy.ts';
import { Progress } from '../../../src/deploy/progress.ts';
import type { DeployTarget } from '../../../src/deploy/target.ts';
import { runEnvChecks } from '../../../src/release/env-checks.ts';
import { guard } from '../../../src/release/guard.ts';
import { promote } from '../../../src/release/release.ts';
import { IMAGE_REPO, PROXY_IMAGE, REGISTRY, SimFleet } from '../../sim/fleet.ts';
import { withVirtualTime } from '../../sim/harness.ts';
import { newHostState } from '../../sim/host.ts';

const hex = (c: string) => c.repeat(64);
const DIGEST: Record<string, string> = { v1: `sha256:${hex('1')}`, v2: `sha256:${hex('2')}`, v3: `sha256:${hex('3')}` };
const quiet = () => new Progress(() => undefined);
const root = mkdtempSync(join(tmpdir(), 'pier-flow-'));
const ACCESS_LOG = '/var/lib/pier/logs/access.log';

function fleet(names: string[]): SimFleet {
  const registry = Object.fromEntries(Object.entries(DIGEST).map(([v, d]) => [`${REGISTRY}/${IMAGE_REPO}:${v}`, `${REGISTRY}/${IMAGE_REPO}@${d}`]));
  return new SimFleet({ hosts: names.map((n) => newHostState(n, [PROXY_IMAGE])), clock: 1, registry, health: {} });
}

/** A target with an environment name and config (checks: pass unless the version is v3). */
function target(f: SimFleet, env: string, o: { checks?: boolean; guard?: unknown; requirePassed?: string } = {}): DeployTarget {
  const t = f.target(f.process(), { ...(o.guard ? { guard: Guard.parse(o.guard) } : {}), ...(o.requirePassed ? { requirePassed: o.requirePassed } : {}) });
  const checks = o.checks ? [{ name: 'e2e', command: [process.execPath, '-e', 'process.exit(process.env.PIER_VERSION === "v3" ? 1 : 0)'], timeoutSeconds: 30, reports: [], env: {} }] : [];
  return { ...t, envName: env, root, config: { env: { name: env, checks, smoke: [] } } as unknown as Config };
}

const servingOf = (f: SimFleet) => f.hosts.map((h) => JSON.parse(h.s.files['/var/lib/pier/api/current.json'] ?? '{}') as { version?: string; image?: string });

describe('promotion by digest (simulated hosts)', () => {
  it('production gets exactly the digest staging passed; a failed check refuses the next one (production untouched)', async () => {
    const staging = fleet(['stage1']);
    const prod = fleet(['web1', 'web2', 'web3']);
    await withVirtualTime(async () => {
      expect((await deploy(target(staging, 'staging'), { version: 'v1', progress: quiet() })).ok).toBe(true);
      const refused = await promote(target(staging, 'staging', { checks: true }), target(prod, 'production'), { log: () => undefined });
      expect(refused.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['promotion gate:failed']);
      expect(refused.error).toMatch(/^cannot promote v1 \(sha256:111111111111\) from staging: its checks have not run for this digest$/);

      expect((await runEnvChecks(target(staging, 'staging', { checks: true }), 'checks', { log: () => undefined })).ok).toBe(true);
      const ok = await promote(target(staging, 'staging', { checks: true }), target(prod, 'production'), { log: () => undefined });
      expect(ok.ok, ok.error).toBe(true);
      expect(ok.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['promotion gate:passed', 'deploy:passed', 'guard:skipped']);
      expect(servingOf(prod).map((c) => c.image)).toEqual(Array(3).fill(`${REGISTRY}/${IMAGE_REPO}@${DIGEST.v1}`));
      // The production hosts pulled the digest, never the tag.
      expect(prod.hosts.every((h) => !h.s.images.includes(`${REGISTRY}/${IMAGE_REPO}:v1`))).toBe(true);

      expect((await deploy(target(staging, 'staging'), { version: 'v3', progress: quiet() })).ok).toBe(true);
      expect((await runEnvChecks(target(staging, 'staging', { checks: true }), 'checks', { log: () => undefined })).ok).toBe(false);
      const bad = await promote(target(staging, 'staging', { checks: true }), target(prod, 'production'), { log: () => undefined });
      expect(bad.exitCode).toBe(1);
      expect(bad.error).toMatch(/^cannot promote v3 \(sha256:333333333333\) from staging: its checks failed \(.*\): e2e failed \(exit 1\)$/);
      expect(servingOf(prod).map((c) => c.version)).toEqual(['v1', 'v1', 'v1']);
      // Verdicts are on the staging host, beside its release history.
      expect(staging.host('stage1').s.files['/var/lib/pier/api/verdicts.jsonl']!.trim().split('\n').map((l) => `${JSON.parse(l).digest.slice(7, 8)}:${JSON.parse(l).ok}`)).toEqual(['1:true', '3:false']);
    });
  });

  it('a promotion from qa to a production that requires staging\'s pass: refused until staging passed that digest', async () => {
    const qa = fleet(['qa1']);
    const staging = fleet(['stage1']);
    const prod = fleet(['web1', 'web2']);
    const o = { log: () => undefined, targetOf: (e: string) => target(e === 'staging' ? staging : qa, e, { checks: true }) };
    await withVirtualTime(async () => {
      for (const f of [qa, staging]) expect((await deploy(target(f, f === qa ? 'qa' : 'staging'), { version: 'v1', progress: quiet() })).ok).toBe(true);
      expect((await runEnvChecks(target(qa, 'qa', { checks: true }), 'checks', { log: () => undefined })).ok).toBe(true);
      const refused = await promote(target(qa, 'qa', { checks: true }), target(prod, 'production', { requirePassed: 'staging' }), o);
      expect(refused.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['promotion gate:failed']);
      expect(refused.error).toBe(`cannot deploy v1 (${DIGEST.v1}) to production: deploy.requirePassed says staging's checks must pass it first, and staging has no checks verdict for it`);
      expect(prod.clock).toBe(1);
      expect((await runEnvChecks(target(staging, 'staging', { checks: true }), 'checks', { log: () => undefined })).ok).toBe(true);
      const ok = await promote(target(qa, 'qa', { checks: true }), target(prod, 'production', { requirePassed: 'staging' }), o);
      expect(ok.ok, ok.error).toBe(true);
      expect(servingOf(prod).map((c) => c.image)).toEqual(Array(2).fill(`${REGISTRY}/${IMAGE_REPO}@${DIGEST.v1}`));
    });
  });

  it('refused when the staging hosts serve different digests', async () => {
    const staging = fleet(['stage1', 'stage2']);
    await withVirtualTime(async () => {
      await deploy(target(staging, 'staging'), { version: 'v1', progress: quiet() });
      // stage2 alone gets v2 (a deploy to a one-host copy of it, its state copied back).
      const snap = staging.snapshot();
      const one = new SimFleet({ ...snap, hosts: [snap.hosts[1]!] });
      expect((await deploy(target(one, 'staging'), { version: 'v2', progress: quiet() })).ok).toBe(true);
      Object.assign(staging.host('stage2').s, one.hosts[0]!.s);
      const r = await promote(target(staging, 'staging', { checks: true }), target(fleet(['web1']), 'production'), { log: () => undefined });
      expect(r.error).toBe(`cannot promote from staging: its hosts disagree on what they serve:\n  ${DIGEST.v1}: stage1 (v1)\n  ${DIGEST.v2}: stage2 (v2)`);
    });
  });
});

let served = 0;
/** Access-log lines for `n` requests to `release` on each host, every `failEvery`-th request a 500. */
function traffic(f: SimFleet, release: string, n: number, failEvery: number, ms = 12): void {
  for (const h of f.hosts) {
    const lines = Array.from({ length: n }, () => JSON.stringify({ msec: 0, status: failEvery && served++ % failEvery === 0 ? 500 : 200, upstream: '172.18.0.5:3000', release, request_time: ms / 1000 }));
    h.s.files[ACCESS_LOG] = (h.s.files[ACCESS_LOG] ?? '') + lines.join('\n') + '\n';
  }
}

/** A manual clock whose sleeps make `perTick(t)` traffic happen first. */
function trafficClock(f: SimFleet, perTick: (tSeconds: number) => { release: string; n: number; failEvery: number } | undefined) {
  const c = manualClock(0);
  return {
    now: c.now,
    sleep: async (ms: number, signal?: AbortSignal) => {
      // Traffic in 1 s slices up to the new time (what the proxies log meanwhile).
      for (let t = c.now(); t < c.now() + ms; t += 1000) {
        const x = perTick(t / 1000);
        if (x) traffic(f, x.release, x.n, x.failEvery);
      }
      await c.sleep(ms, signal);
    },
  };
}

describe('the guard (simulated hosts, manual clock)', () => {
  async function fleetOnV2() {
    const prod = fleet(['web1', 'web2', 'web3']);
    await withVirtualTime(async () => {
      for (const v of ['v1', 'v2']) expect((await deploy(target(prod, 'production'), { version: v, progress: quiet() })).ok).toBe(true);
    });
    return prod;
  }

  it("a 10 % fault five minutes in: the seeds' availability rule fires a minute later and every host goes back", async () => {
    const prod = await fleetOnV2();
    traffic(prod, 'v1', 50, 2); // old requests before the guard starts: not counted
    const clock = trafficClock(prod, (t) => ({ release: 'v2', n: 3, failEvery: t >= 300 ? 10 : 0 }));
    const lines: string[] = [];
    const g = await withVirtualTime(() => guard(target(prod, 'production', { guard: {} }), { clock, log: (l) => lines.push(l) }));
    expect(g.phase).toBe('failed');
    // The first measurement covering the fault is at 310 s (it covers 300..310 s); held 1 m -> 370 s.
    expect(g.seconds).toBe(370);
    expect(g.analysis.reasons).toEqual(['availability: "availability < 95%" held for 1m (for: 1m): availability 90.0%, requests 90, errors 9']);
    expect(g.action).toBe('rolled-back');
    expect(g.rollback?.hosts.map((h) => `${h.host}:${h.from}->${h.to}`)).toEqual(['web1:v2->v1', 'web2:v2->v1', 'web3:v2->v1']);
    expect(servingOf(prod).map((c) => c.version)).toEqual(['v1', 'v1', 'v1']);
    expect(g.analysis.metrics.find((m) => m.name === 'error-rate')).toMatchObject({ phase: 'inconclusive', failingSince: 310_000 });
    expect(lines.some((l) => /guard \+5m10s\s+availability\s+failed\s+availability 90\.0%/.test(l))).toBe(true);
    const verdict = JSON.parse(prod.host('web1').s.files['/var/lib/pier/api/verdicts.jsonl']!.trim());
    expect(verdict).toMatchObject({ kind: 'guard', ok: false, version: 'v2', digest: DIGEST.v2 });
  });

  it('a clean window holds; no traffic is inconclusive: paused (still serving) or aborted (rolled back) as configured', async () => {
    const prod = await fleetOnV2();
    const ok = await withVirtualTime(() => guard(target(prod, 'production', { guard: { window: '10m' } }), { clock: trafficClock(prod, () => ({ release: 'v2', n: 3, failEvery: 0 })), log: () => undefined }));
    expect(ok).toMatchObject({ phase: 'successful', action: 'none', exitCode: 0, seconds: 600 });

    const paused = await withVirtualTime(() => guard(target(prod, 'production', { guard: { window: '2m' } }), { clock: trafficClock(prod, () => undefined), log: () => undefined }));
    expect(paused).toMatchObject({ phase: 'inconclusive', action: 'paused', exitCode: 1 });
    expect(paused.analysis.reasons[0]).toBe('error-rate: no conclusive measurement (no value for error_rate)');
    expect(servingOf(prod).map((c) => c.version)).toEqual(['v2', 'v2', 'v2']);

    const aborted = await withVirtualTime(() => guard(target(prod, 'production', { guard: { window: '2m', inconclusive: 'abort' } }), { clock: trafficClock(prod, () => undefined), log: () => undefined }));
    expect(aborted).toMatchObject({ phase: 'inconclusive', action: 'rolled-back', exitCode: 1 });
    expect(servingOf(prod).map((c) => c.version)).toEqual(['v1', 'v1', 'v1']);
  });

  it('latency: p95 over 2 s for 5 minutes fails the response-time rule', async () => {
    const prod = await fleetOnV2();
    const c = manualClock(0);
    const clock = { now: c.now, sleep: async (ms: number) => {
      for (const h of prod.hosts) h.s.files[ACCESS_LOG] = (h.s.files[ACCESS_LOG] ?? '') + Array.from({ length: 10 }, () => JSON.stringify({ msec: 0, status: 200, upstream: 'x', release: 'v2', request_time: c.now() >= 60_000 ? 2.5 : 0.05 })).join('\n') + '\n';
      await c.sleep(ms);
    } };
    const g = await withVirtualTime(() => guard(target(prod, 'production', { guard: { window: '10m' } }), { clock, log: () => undefined, rollback: false }));
    expect(g.phase).toBe('failed');
    expect(g.action).toBe('not-rolled-back');
    expect(g.analysis.reasons).toEqual(['response-time: "p95_ms > 2000" held for 5m (for: 5m): p95_ms 2500, requests 30, errors 0']);
    expect(g.seconds).toBe(370); // first slow measurement at 70 s (covers 60..70 s), held 5 m
  });
});

describe('the guard and a deploy during its window', () => {
  it('does not roll back a release it was not watching', async () => {
    const prod = fleet(['web1', 'web2']);
    await withVirtualTime(async () => {
      for (const v of ['v1', 'v2']) expect((await deploy(target(prod, 'production'), { version: v, progress: quiet() })).ok).toBe(true);
    });
    const c = manualClock(0);
    let deployed = false;
    const clock = {
      now: c.now,
      sleep: async (ms: number) => {
        traffic(prod, 'v2', 15, c.now() >= 60_000 ? 2 : 0);
        // Someone deploys v3 at 100 s (the guard still watches v2's failures).
        if (c.now() >= 100_000 && !deployed) {
          deployed = true;
          expect((await deploy(target(prod, 'production'), { version: 'v3', progress: quiet() })).ok).toBe(true);
        }
        await c.sleep(ms);
      },
    };
    const g = await withVirtualTime(() => guard(target(prod, 'production', { guard: {} }), { clock, log: () => undefined }));
    expect(g.phase).toBe('failed');
    expect(g.action).toBe('not-rolled-back');
    expect(g.summary.at(-1)).toMatch(/the hosts no longer serve v2 \(v3, v3\)/);
    expect(servingOf(prod).map((x) => x.version)).toEqual(['v3', 'v3']);
  });
});
