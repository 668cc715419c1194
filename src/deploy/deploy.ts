/**
 * `pier deploy`: preflight every host, take the fleet lock, get the image, run migrations once,
 * hand the rollout to a strategy, and on any failure (health, smoke, bake, lost host, Ctrl-C)
 * switch every already-switched host back. The lock is released on every exit path, or the
 * hosts where it could not be are named.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../util/exec.ts';
import { EnvironmentError, ExitCode, PierError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import { newRunId } from '../util/run-id.ts';
import * as docker from './commands/docker.ts';
import { freeKb } from './commands/host.ts';
import { releaseContainer } from './commands/layout.ts';
import { mapLimit, openHost, type HostSession } from './executor.ts';
import { HealthError, HostOps, type Release } from './host-ops.ts';
import { imageFetcher, type ImageSource } from './image-fetch.ts';
import { acquireFleetLock, releaseFleetLock, type LockRelease } from './lock.ts';
import { Progress, type ProgressEvent } from './progress.ts';
import { auditLine, type LockInfo } from './records.ts';
import { strategyFor } from './strategies/index.ts';
import { backupBeforeMigrate } from '../db/deploy-hook.ts';
import type { HostPlan, RolloutContext, Strategy } from './strategies/types.ts';
import { switchHostTo } from './switch-back.ts';
import type { DeployTarget } from './target.ts';

export interface DeployOptions {
  version: string;
  /** Send the image over SSH (`docker save | docker load`) instead of pulling from the registry. */
  stream?: boolean;
  lockWaitSeconds?: number;
  signal?: AbortSignal;
  progress?: Progress;
  runId?: string;
  strategy?: Strategy;
}

export type HostStatus = 'deployed' | 'rolled-back' | 'unchanged' | 'failed' | 'not-changed' | 'rollback-failed' | 'unreachable';

export interface HostOutcome {
  host: string;
  status: HostStatus;
  /** Release the host serves at the end, as far as pier knows. */
  serving?: string;
  detail?: string;
}

export interface DeployReport {
  run: string;
  env: string;
  version: string;
  image?: string;
  ok: boolean;
  exitCode: number;
  seconds: number;
  error?: string;
  logs?: string;
  hosts: HostOutcome[];
  lock: LockRelease;
  timeline: ProgressEvent[];
  /** The strategy and what it found (canary: the analysis of every step). */
  strategy?: { name: string } & Record<string, unknown>;
}

/** Connect to every host (parallel, limited); closes what was opened if any fails. */
export async function connectAll(target: DeployTarget): Promise<HostSession[]> {
  const results = await mapLimit(target.hosts, target.parallel, (h) => openHost(h, target.auth));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) {
    for (const r of results) if (r.status === 'fulfilled') r.value.close();
    const first = failed[0]!.reason as Error;
    if (failed.length === 1 && first instanceof PierError) throw first;
    throw new EnvironmentError(failed.map((f) => (f.reason as Error).message).join('\n'), first instanceof PierError ? first.hint : undefined);
  }
  return results.map((r) => (r as PromiseFulfilledResult<HostSession>).value);
}

/** Reachable, Docker up, enough disk: checked on every host before anything changes. */
export async function preflight(ops: HostOps[], target: DeployTarget, progress: Progress, light = false): Promise<void> {
  const results = await mapLimit(ops, target.parallel, async (o) => {
    if (light) {
      // Rollbacks: reachable (already connected) and Docker answering; nothing new lands on disk.
      await o.h.run(docker.dockerInfo(), { timeoutMs: 15_000 });
      return progress.step(o.name, 'preflight');
    }
    // Independent checks go out together (one round trip's wait instead of four).
    const [info, free, base] = await Promise.allSettled([o.h.run(docker.dockerInfo(), { timeoutMs: 15_000 }), o.h.run(freeKb(target.settings.dir)), o.ensureBase()]);
    if (info.status === 'rejected') throw new EnvironmentError(`${o.name}: Docker is not usable: ${(info.reason as Error).message}`);
    if (free.status === 'rejected') throw free.reason;
    if (base.status === 'rejected') throw base.reason;
    const version = info.value.trim();
    const kb = Number(free.value.trim());
    if (Number.isFinite(kb) && kb < target.settings.minFreeMb * 1024) {
      throw new EnvironmentError(`${o.name}: only ${Math.round(kb / 1024)} MB free under ${target.settings.dir}; need ${target.settings.minFreeMb} MB (deploy.minFreeMb)`);
    }
    progress.step(o.name, 'preflight', `docker ${version}, ${Math.round(kb / 1024)} MB free`);
  });
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) throw new EnvironmentError(`preflight failed, nothing was changed:\n${failed.map((f) => `  ${(f.reason as Error).message}`).join('\n')}`);
}

/** What the host served before, from current.json, if its container still exists. */
async function previousOf(o: HostOps): Promise<Release | undefined> {
  const cur = await o.readCurrent();
  if (!cur || !(await o.exists(cur.container))) return undefined;
  return { version: cur.version, image: cur.image, container: cur.container };
}

/** Deploy `opts.version` to every host of `target`. Throws before the lock (exit 2/3); after it, returns a report. */
export async function deploy(target: DeployTarget, opts: DeployOptions): Promise<DeployReport> {
  const runId = opts.runId ?? newRunId();
  const progress = opts.progress ?? new Progress();
  const signal = opts.signal ?? new AbortController().signal;
  const strategy = opts.strategy ?? strategyFor(target.settings.strategy);
  const started = Date.now();
  const streamed = opts.stream || !target.registry;
  // A streamed image must exist locally: checked before anything remote happens.
  if (streamed) {
    const local = `${target.imageRepo}:${opts.version}`;
    const r = await exec(['docker', 'image', 'inspect', '--format', '{{.Id}}', local], { nothrow: true });
    if (r.code !== 0) throw new EnvironmentError(`cannot stream ${local}: no such image on this machine`, 'build it first (pier build), or deploy from a registry (deploy.registry)');
  }
  const sessions = await connectAll(target);
  const ops = sessions.map((s) => new HostOps(s, target, runId));
  let tmpDir: string | undefined;
  try {
    await preflight(ops, target, progress);
    const info: LockInfo = { by: target.by, run: runId, version: opts.version, at: new Date().toISOString(), pid: process.pid, command: 'deploy' };
    await acquireFleetLock(ops, info, target.envName, opts.lockWaitSeconds ?? 0, signal);
    for (const o of ops) progress.step(o.name, 'locked');
    const plans: HostPlan[] = await Promise.all(ops.map(async (o) => ({ ops: o, previous: await previousOf(o), switched: false })));
    const findings: Record<string, unknown> = {};
    const report = (ok: boolean, exitCode: number, hosts: HostOutcome[], extra: Partial<DeployReport> = {}): DeployReport => ({
      run: runId, env: target.envName, version: opts.version, ok, exitCode, seconds: (Date.now() - started) / 1000, hosts, lock: { released: [], held: [] }, timeline: progress.events, strategy: { name: strategy.name, ...findings }, ...extra,
    });
    let result: DeployReport | undefined;
    try {
      await audit(ops, target, runId, `deploy ${opts.version} started (strategy ${strategy.name}${opts.stream ? ', streamed' : ''})`);
      const container = releaseContainer(target.app, opts.version);
      if (plans.every((p) => p.previous?.container === container)) {
        for (const p of plans) progress.step(p.ops.name, 'unchanged');
        result = report(true, ExitCode.ok, plans.map((p) => ({ host: p.ops.name, status: 'unchanged', serving: opts.version })));
      } else {
        // Image: pulled by digest (the first host resolves the tag; every host runs those bytes) or streamed.
        let image: string;
        let source: ImageSource;
        const prepared = new Map<HostPlan, Promise<{ release: Release; envFile?: string }>>();
        if (streamed) {
          image = `${target.imageRepo}:${opts.version}`;
          tmpDir = await mkdtemp(join(tmpdir(), 'pier-stream-'));
          const file = join(tmpDir, 'image.tar');
          await exec(['docker', 'save', '--output', file, image]).catch((e: Error) => {
            throw new EnvironmentError(`cannot stream ${image}: ${e.message}`, 'build or pull the image locally first');
          });
          source = { kind: 'stream', ref: image, file };
        } else {
          image = `${target.registry}/${target.imageRepo}:${opts.version}`;
          source = { kind: 'registry', ref: image };
        }
        const fetchImage = imageFetcher(ops, source, target.auth.commandTimeoutMs);
        const prepare = (plan: HostPlan) => {
          let p = prepared.get(plan);
          if (!p) {
            p = (async () => {
              const o = plan.ops;
              const [ref, envFile] = await Promise.all([
                fetchImage(o),
                target.envFileContent !== undefined ? o.uploadEnv(opts.version, target.envFileContent) : undefined,
              ]);
              return { release: o.release(opts.version, ref), envFile };
            })();
            prepared.set(plan, p);
          }
          return p;
        };
        const ctx: RolloutContext = { target, runId, version: opts.version, plans, progress, signal, prepare, findings };
        try {
          // Every host gets the image and env file at once, before any traffic moves: no batch waits
          // on its own pull, and a host that cannot get the image fails the deploy while nothing has switched.
          await allOrThrow(await mapLimit(plans, target.parallel, async (p) => {
            progress.step(p.ops.name, 'pulling');
            await prepare(p);
            progress.step(p.ops.name, 'pulled');
          }));
          image = (await prepare(plans[0]!)).release.image;
          signal.throwIfAborted();
          // Release step: migrations once, on the first host, before any traffic moves.
          if (target.migrate) {
            const { release, envFile } = await prepare(plans[0]!);
            // Data safety: no migration without a verified backup first (when backup.beforeMigrate is on).
            await backupBeforeMigrate(target, plans[0]!.previous?.version, progress, sessions);
            progress.step(plans[0]!.ops.name, 'migrating', target.migrate.join(' '));
            await plans[0]!.ops.migrate(release, target.migrate, envFile).catch((e: Error) => {
              throw new HealthError(plans[0]!.ops.name, `migration failed: ${e.message}`);
            });
          }
          await strategy.rollout(ctx);
          await audit(ops, target, runId, `deploy ${opts.version} succeeded`);
          result = report(true, ExitCode.ok, plans.map((p) => ({ host: p.ops.name, status: 'deployed', serving: opts.version })), { image });
        } catch (err) {
          result = await recover(ctx, err as Error, image);
          result = { ...report(false, result.exitCode, result.hosts, { image }), error: result.error, logs: result.logs };
          await audit(ops, target, runId, `deploy ${opts.version} failed: ${result.error}`).catch(() => undefined);
        }
      }
    } finally {
      const lock = await releaseFleetLock(ops, runId);
      if (result) result.lock = lock;
    }
    return result;
  } finally {
    for (const s of sessions) s.close();
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
  }
}

/** Switch every switched host back to its previous release; stop new containers that never got traffic. */
async function recover(ctx: RolloutContext, err: Error, image: string): Promise<DeployReport> {
  const interrupted = ctx.signal.aborted;
  const cause = interrupted ? 'interrupted (SIGINT)' : redact(err.message);
  const logs = err instanceof HealthError ? err.logs : undefined;
  const failedHost = err instanceof HealthError ? err.host : /^(\S+?):/.exec(err.message)?.[1];
  const outcomes = await Promise.all(
    ctx.plans.map(async (p): Promise<HostOutcome> => {
      const name = p.ops.name;
      try {
        if (p.switched && p.previous) {
          ctx.progress.step(name, 'rolling-back', `to ${p.previous.version}`);
          await switchHostTo(p.ops, p.previous, { target: ctx.target, runId: ctx.runId, event: 'rolled-back', from: p.started });
          // A rejected release does not take a retention slot from a good one.
          if (p.started && p.started.container !== p.previous.container) await p.ops.remove(p.started.container);
          ctx.progress.step(name, 'rolled-back');
          return { host: name, status: 'rolled-back', serving: p.previous.version, detail: `back on ${p.previous.version}` };
        }
        if (p.switched) return { host: name, status: 'failed', serving: ctx.version, detail: 'no previous release to return to' };
        if (p.started && p.started.container !== p.previous?.container) await p.ops.remove(p.started.container);
        const status: HostStatus = name === failedHost ? 'failed' : 'not-changed';
        return { host: name, status, serving: p.previous?.version, detail: name === failedHost ? cause : 'never switched' };
      } catch (e) {
        const lost = /connection lost|closed|timed out/i.test((e as Error).message);
        ctx.progress.step(name, 'failed', (e as Error).message);
        return { host: name, status: lost ? 'unreachable' : 'rollback-failed', serving: undefined, detail: redact((e as Error).message) };
      }
    }),
  );
  if (interrupted) for (const o of outcomes) ctx.progress.step(o.host, 'interrupted', o.serving ? `serving ${o.serving}` : undefined);
  return {
    run: ctx.runId, env: ctx.target.envName, version: ctx.version, image, ok: false, exitCode: ExitCode.gate, seconds: 0,
    error: cause, logs, hosts: outcomes, lock: { released: [], held: [] }, timeline: [],
  };
}

/** Throw the first failure once every item has settled (nothing left running behind the error). */
async function allOrThrow<T>(results: PromiseSettledResult<T>[]): Promise<void> {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function audit(ops: HostOps[], target: DeployTarget, runId: string, message: string): Promise<void> {
  const line = auditLine(new Date(), target.by, runId, message);
  await Promise.all(ops.map((o) => o.audit(line).catch(() => undefined)));
}
