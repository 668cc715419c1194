/**
 * Blue/green and canary on 3 simulated hosts (the deploy engineer's fleet harness), under load
 * through the front load balancer on a 127.0.0.1 port this file published. One fleet, in order:
 * blue/green + instant rollback in its window, a healthy canary, a canary of a release failing
 * 30 % of requests (rolled back at its first step), a deploy refused because the pre-migration
 * backup failed.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { interpolationVars } from '../../src/config/load.ts';
import { backup, restore, verifyBackup } from '../../src/db/backup.ts';
import { sshContainer } from '../../src/db/runner.ts';
import { openHost } from '../../src/deploy/executor.ts';
import type { CanaryAnalysis } from '../../src/deploy/canary-analysis.ts';
import { deploy, type BeforeMigrateContext } from '../../src/deploy/deploy.ts';
import { backupBeforeMigrate } from '../../src/db/deploy-hook.ts';
import { rollback } from '../../src/deploy/rollback.ts';
import { status } from '../../src/deploy/queries.ts';
import { Progress } from '../../src/deploy/progress.ts';
import type { DeployTarget } from '../../src/deploy/target.ts';
import { exec } from '../../src/util/exec.ts';
import { buildTestApp, deployTarget, writeProject, type Fleet, type ProjectOptions } from '../helpers/fleet.ts';
import { useFleet } from '../helpers/use-fleet.ts';
import { startLoad } from '../helpers/load.ts';
import { poll } from '../../src/util/poll.ts';
import { repoRoot } from '../helpers/paths.ts';

const postgresImage = interpolationVars(repoRoot).PIER_POSTGRES_IMAGE ?? 'postgres:16';

let fleet: Fleet;

/** A project on the fleet with `deploy` settings (and other top-level keys) merged into the environment file. */
function target(deploySettings: Record<string, unknown>, o: ProjectOptions & { extra?: Record<string, unknown> } = {}): DeployTarget {
  return deployTarget(writeProject(fleet, { drainSeconds: 0.5, bakeSeconds: 1, ...o, deploy: deploySettings, environment: o.extra }));
}

const recorder = (lines: string[]) => new Progress((l) => lines.push(l));
const serving = async (t: DeployTarget) => (await status(t)).map((h) => h.serving);
/** Whether the (newest) container of `release` runs on `host`: 'true' / 'false' (each start has its own name). */
const running = async (host: string, release: string) => {
  const c = fleet.hosts.find((h) => h.name === host)!.container;
  const names = (await exec(['docker', 'exec', c, 'docker', 'ps', '--all', '--filter', 'label=pier.app=deploy-app', '--filter', `label=pier.release=${release}`, '--format', '{{.Names}}'], { nothrow: true })).stdout.trim().split('\n');
  return (await exec(['docker', 'exec', c, 'docker', 'inspect', '--format', '{{.State.Running}}', names[0]!], { nothrow: true })).stdout.trim();
};
/** The CLI's pre-migration backup hook, as `pier deploy` passes it. */
const withBackup = { beforeMigrate: (c: BeforeMigrateContext) => backupBeforeMigrate(c.target, c.serving, c.progress, c.sessions) };

const canarySettings = { steps: [10, 50, 100], pauseSeconds: 2, minRequests: 10, maxErrorRate: 0.05, maxErrorRateIncrease: 0.02 };

useFleet(
  { count: 3, alongside: () => [buildTestApp('pier-test/deploy-app:good'), buildTestApp('pier-test/deploy-app:fails30', { failRate: 0.3 })] },
  async (f) => {
    fleet = f;
    await Promise.all([
      ...['s1', 's2', 's3'].map((v) => fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${v}`)),
      fleet.push('pier-test/deploy-app:fails30', 'pier-test/deploy-app:sbad'),
    ]);
  },
);

describe.sequential('release strategies on 3 simulated hosts', () => {
  it('blue/green: first deploy, then s2 under load: every host healthy before any switch, zero failed requests', async () => {
    const t = target({ strategy: 'blue-green', blueGreen: { windowSeconds: 600 } });
    const first = await deploy(t, { version: 's1', progress: recorder([]) });
    expect(first.ok, first.error).toBe(true);

    const lines: string[] = [];
    const load = startLoad(fleet.lbPort, 40);
    const r = await deploy(t, { version: 's2', progress: recorder(lines) });
    await sleep(500);
    const l = await load.stop();
    expect(r.ok, r.error).toBe(true);
    expect(r.strategy?.name).toBe('blue-green');
    expect(l.sent).toBeGreaterThan(100);
    expect(l.failures).toEqual([]);
    expect(l.versions.s1).toBeGreaterThan(0);
    expect(l.versions.s2).toBeGreaterThan(0);
    // Green verified everywhere before the first proxy moved.
    const lastHealthy = Math.max(...r.timeline.filter((e) => e.phase === 'healthy').map((e) => e.t));
    const firstSwitch = Math.min(...r.timeline.filter((e) => e.phase === 'switched').map((e) => e.t));
    expect(r.timeline.filter((e) => e.phase === 'healthy')).toHaveLength(3);
    expect(lastHealthy).toBeLessThanOrEqual(firstSwitch);
    expect(await serving(t)).toEqual(['s2', 's2', 's2']);
    // Blue keeps running through the window.
    for (const h of fleet.hosts) expect(await running(h.name, 's1')).toBe('true');
    expect(lines.filter((x) => /retiring .*s1 kept running 600s/.test(x))).toHaveLength(3);
  }, 180_000);

  it('blue/green rollback within the window is a proxy switch: all 3 hosts in seconds, zero failed requests', async () => {
    const t = target({ strategy: 'blue-green', blueGreen: { windowSeconds: 600 } });
    const load = startLoad(fleet.lbPort, 40);
    const lines: string[] = [];
    const r = await rollback(t, { progress: recorder(lines) });
    const l = await load.stop();
    expect(r.ok).toBe(true);
    expect(r.hosts.map((h) => `${h.from}->${h.to}`)).toEqual(['s2->s1', 's2->s1', 's2->s1']);
    expect(l.failures).toEqual([]);
    expect(await serving(t)).toEqual(['s1', 's1', 's1']);
    // Per host, from "rolling-back" to "switched" (no start, no pull: blue was running).
    const per = fleet.hosts.map((h) => {
      const at = (p: string) => Number(new RegExp(`${h.name}\\s+${p}\\s+\\+(\\d+\\.\\d)s`).exec(lines.join('\n'))![1]);
      return at('switched') - at('rolling-back');
    });
    // Goal 1 s per host; seen 0.6 s alone, 2.3-3.3 s while other integration files share the 2 cores,
    // 13.4 s at load average 20. A bound against a cold start (pull + start + health wait), not the
    // figure: bench:deploy measures that on its own.
    console.log(`blue/green rollback: per host ${per.map((x) => x.toFixed(1)).join(', ')} s; total ${r.seconds.toFixed(1)} s`);
    for (const s of per) expect(s).toBeLessThanOrEqual(20);
    expect(r.seconds).toBeLessThan(30);
  }, 60_000);

  it('the window timer stops the previous release once the window is over, but not a release serving again', async () => {
    // 15 s: the deploy's own steps after the switch (records, prune, unlock) took over 2 s on a
    // loaded machine, so a 2 s window had closed before the first look (15 s leaves room).
    const t = target({ strategy: 'blue-green', blueGreen: { windowSeconds: 15 } });
    const r = await deploy(t, { version: 's3', progress: recorder([]) });
    expect(r.ok, r.error).toBe(true);
    expect(await running('web1', 's1')).toBe('true');
    // The host-side timer fires 15 s after the switch; looked at until then (bounded), not slept through.
    await poll('s1 stopped on every host', async () => ((await Promise.all(fleet.hosts.map((h) => running(h.name, 's1')))).every((x) => x === 'false') ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    expect(await running('web1', 's3')).toBe('true');
  }, 120_000);

  it('canary: a healthy release goes 10 -> 50 -> 100 % under load with zero failed requests, analysis per step', async () => {
    // The same image on both sides: a latency verdict here would only measure the shared machine's
    // noise (seen: p95 69 ms vs 16 ms while other files ran), so the p95 slack is wide; the latency
    // rule's boundaries are unit-tested (canary-analysis.test.ts), the error-rate rule is live below.
    const t = target({ strategy: 'canary', canary: { ...canarySettings, p95SlackMs: 1000 } });
    const lines: string[] = [];
    const load = startLoad(fleet.lbPort, 40);
    const r = await deploy(t, { version: 's2', progress: recorder(lines) });
    await sleep(500);
    const l = await load.stop();
    expect(r.ok, r.error).toBe(true);
    expect(l.failures).toEqual([]);
    expect(l.versions.s3).toBeGreaterThan(0);
    expect(l.versions.s2).toBeGreaterThan(0);
    const analyses = (r.strategy?.canary as { analyses: CanaryAnalysis[] }).analyses;
    expect(analyses.map((a) => `${a.percent}:${a.verdict}`)).toEqual(['10:promote', '50:promote', '100:promote']);
    expect(analyses[0]!.canary.requests).toBeGreaterThanOrEqual(10);
    expect(analyses[0]!.baseline.requests).toBeGreaterThan(analyses[0]!.canary.requests);
    expect(analyses[0]!.upstreams.map((u) => u.host + ':' + u.role)).toEqual(expect.arrayContaining(['web1:canary', 'web1:baseline', 'web3:canary']));
    expect(lines.join('\n')).toMatch(/canary step 2 \(50%\): promote/);
    expect(await serving(t)).toEqual(['s2', 's2', 's2']);
  }, 180_000);

  it('canary of a release failing 30 % of requests: rolled back automatically at its first step, analysis shown', async () => {
    const t = target({ strategy: 'canary', canary: { ...canarySettings, pauseSeconds: 5 } });
    const lines: string[] = [];
    const load = startLoad(fleet.lbPort, 40);
    const r = await deploy(t, { version: 'sbad', progress: recorder(lines) });
    const l = await load.stop();
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/canary rolled back at step 1 \(10%\): error rate \d+\.\d% \(\d+\/\d+\) > 5\.0%/);
    const analyses = (r.strategy?.canary as { analyses: CanaryAnalysis[] }).analyses;
    expect(analyses).toHaveLength(1);
    expect(analyses[0]).toMatchObject({ step: 1, percent: 10, verdict: 'rollback' });
    // Over the rule's 5 % (a few dozen requests of a 30 %-failing release: 1/7 = 14 % was seen, so
    // no tighter bound than the threshold the verdict used).
    expect(analyses[0]!.canary.errorRate).toBeGreaterThan(canarySettings.maxErrorRate);
    expect(analyses[0]!.canary.errors).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/canary step 1 \(10%\): rollback — error rate/);
    expect(r.hosts.map((h) => `${h.host}:${h.status}:${h.serving}`)).toEqual(['web1:rolled-back:s2', 'web2:rolled-back:s2', 'web3:rolled-back:s2']);
    expect(await serving(t)).toEqual(['s2', 's2', 's2']);
    // A full cutover would fail 30 %; the canary exposed only a small share.
    const share = l.failed / l.sent;
    expect(l.failed).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(0.05);
  }, 180_000);

  it('a deploy with migrations refuses to migrate when the pre-migration backup fails; nothing changes', async () => {
    const t = target(
      { strategy: 'rolling' },
      { migrate: ['node', 'migrate.cjs'], extra: { backup: { via: 'ssh', host: 'web1', container: 'no-such-postgres', database: 'app', dir: join(fleet.dir, 'backups') } } },
    );
    const lines: string[] = [];
    const r = await deploy(t, { version: 's3', progress: recorder(lines), ...withBackup });
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/pre-migration backup failed, refusing to migrate: .*no-such-postgres/);
    expect(lines.some((x) => /\sbackup\s/.test(x))).toBe(true);
    expect(lines.some((x) => /^\s+\S+\s+migrating\s/.test(x))).toBe(false);
    expect(r.hosts.every((h) => h.serving === 's2')).toBe(true);
    expect(await serving(t)).toEqual(['s2', 's2', 's2']);
  }, 120_000);

  it('over SSH: a deploy with migrations backs up the database container on a host first; that backup restores there', async () => {
    // PostgreSQL inside host web1 (Docker-in-Docker), reached only over SSH like a production database host.
    await fleet.push(postgresImage, 'pier-test/postgres:15');
    await fleet.hostExec('web1', ['docker', 'run', '--detach', '--name', 'pier-pg', '--label', `pier.run=${fleet.runId}`, '--env', 'POSTGRES_USER=app', '--env', 'POSTGRES_PASSWORD=not-used-by-pier', '--env', 'POSTGRES_DB=app', 'reg:5000/pier-test/postgres:15']);
    await poll('postgres in web1', () => fleet.hostExec('web1', ['docker', 'exec', 'pier-pg', 'pg_isready', '--host', '127.0.0.1', '--username', 'app']).then(() => true), { timeoutMs: 60_000, intervalMs: 500 });
    await fleet.hostExec('web1', ['docker', 'exec', 'pier-pg', 'psql', '-U', 'app', '-d', 'app', '-v', 'ON_ERROR_STOP=1', '-c',
      "CREATE TABLE schema_migrations (version text); INSERT INTO schema_migrations VALUES ('001'); CREATE TABLE notes (id int, body text); INSERT INTO notes SELECT g, repeat('x', g % 50) FROM generate_series(1, 500) g;"]);
    const backups = join(fleet.dir, 'ssh-backups');
    const t = target({ strategy: 'rolling' }, { migrate: ['node', 'migrate.cjs'], extra: { backup: { via: 'ssh', host: 'web1', container: 'pier-pg', database: 'app', user: 'app', dir: backups } } });
    const lines: string[] = [];
    const r = await deploy(t, { version: 's3', progress: recorder(lines), ...withBackup });
    expect(r.ok, r.error).toBe(true);
    const order = lines.map((l) => /^\s+\S+\s+(backup|migrating)\s/.exec(l)?.[1]).filter(Boolean);
    expect(order).toEqual(['backup', 'backup', 'migrating']);
    const [file] = readdirSync(join(backups, 'production')).filter((f) => f.endsWith('.dump')).map((f) => join(backups, 'production', f));
    const meta = await verifyBackup(file!);
    expect(meta).toMatchObject({ database: 'app', appVersion: 's2', migration: { count: 1, latest: '001' } });
    expect(meta.tables.map((x) => `${x.table}=${x.rows}`)).toEqual(['public.notes=500', 'public.schema_migrations=1']);
    const session = await openHost(t.hosts[0]!, t.auth);
    try {
      // The dump can come out in several chunks (512 bytes here): same tables, same checksums.
      const chunked = await backup(sshContainer(session, 'pier-pg', { chunkBytes: 512 }), { env: 'chunked', database: 'app', user: 'app', dir: join(backups, 'chunked'), keep: 1 }, { appVersion: 's3' });
      expect(chunked.meta.bytes).toBeGreaterThan(3 * 512);
      expect(chunked.meta.tables).toEqual(meta.tables);
      // Restore over SSH (the file goes back in on stdin), after losing rows.
      await fleet.hostExec('web1', ['docker', 'exec', 'pier-pg', 'psql', '-U', 'app', '-d', 'app', '-c', 'DELETE FROM notes WHERE id > 10']);
      const res = await restore(sshContainer(session, 'pier-pg'), { env: 'production', database: 'app', user: 'app', dir: join(backups, 'production'), keep: 7 }, file!);
      expect(res.replaced).toBe(true);
    } finally {
      session.close();
    }
    expect(await fleet.hostExec('web1', ['docker', 'exec', 'pier-pg', 'psql', '-U', 'app', '-d', 'app', '-At', '-c', 'SELECT count(*) FROM notes'])).toBe('500');
  }, 240_000);
});
