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
import { ConfigError, EnvironmentError, ExitCode } from '../util/errors.ts';
import { isDigest } from '../util/image-ref.ts';
import { redact } from '../util/redact.ts';
import { newRunId } from '../util/run-id.ts';
import { mapLimit, type HostSession } from './executor.ts';
import { certificateForDeploy, checkProxiesForDeploy, installForDeploy } from '../certs/certs.ts';
import { connectAll, preflight } from './fleet.ts';
import { HealthError, HostOps, type Release } from './host-ops.ts';
import { imageFetcher, type ImageSource } from './image-fetch.ts';
import { acquireFleetLock, releaseFleetLock, type LockRelease } from './lock.ts';
import { Progress, type ProgressEvent } from './progress.ts';
import { auditLine, type CurrentRelease, type LockInfo } from './records.ts';
import { reconcileRecords } from './reconcile.ts';
import { pruneImagesAfterDeploy, type ImagePruneOutcome } from './prune.ts';
import { strategyFor } from './strategies/index.ts';
import type { HostPlan, RolloutContext, Strategy } from './strategies/types.ts';
import { switchHostTo } from './switch-back.ts';
import { planRoles, recoverRoles, rolloutRole, type RoleOutcome, type RolePlan, type RoleRolloutContext } from './roles.ts';
import { resolveManagerSecrets, type DeployTarget } from './target.ts';

/** What a pre-migration hook gets: the release serving now (the data's level) and the sessions. */
export interface BeforeMigrateContext {
  target: DeployTarget;
  serving?: string;
  progress: Progress;
  sessions: readonly HostSession[];
}

export interface DeployOptions {
  version: string;
  /** Send the image over SSH (`docker save | docker load`) instead of pulling from the registry. */
  stream?: boolean;
  /**
   * Roll the current env file out to every host on the release they all serve (no new image, no
   * pull): the same health-gated rollout, e.g. after \`pier secrets set\`. \`version\` is ignored.
   */
  envOnly?: boolean;
  /**
   * Pull exactly this image (`sha256:...`) from the registry instead of the tag `version` (which
   * then only names the release): promotion deploys the bytes another environment checked.
   */
  digest?: string;
  lockWaitSeconds?: number;
  signal?: AbortSignal;
  progress?: Progress;
  runId?: string;
  strategy?: Strategy;
  /**
   * Runs before the migration (when the app has one); throwing refuses the migration and the
   * deploy. The CLI passes the pre-migration backup (src/db/deploy-hook.ts) here, so the deploy
   * code does not depend on the database code.
   */
  beforeMigrate?: (ctx: BeforeMigrateContext) => Promise<unknown>;
  /**
   * Runs under the lock once every host has the image (by digest) and before the env file and
   * certificate uploads, migrations, any container start or proxy change; throwing aborts the
   * deploy with nothing changed on a host (the lock, audit lines and pulled images aside).
   * The CLI runs the preDeploy hook here (src/hooks/), so src/deploy/ does not depend on it.
   */
  beforeChanges?: (ctx: BeforeChangesContext) => Promise<unknown>;
  /** Runs with the outcome while the lock is still held (the postDeploy hook); must not throw. */
  beforeUnlock?: (report: DeployReport) => Promise<unknown>;
}

/** What the pre-change hook point gets: the release's image and what each host served before. */
export interface BeforeChangesContext {
  version: string;
  image: string;
  previous: (string | undefined)[];
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
  /** Roles other than web (worker, scheduler): one outcome per role and host. */
  roles?: RoleOutcome[];
  lock: LockRelease;
  timeline: ProgressEvent[];
  /** The strategy and what it found (canary: the analysis of every step). */
  strategy?: { name: string } & Record<string, unknown>;
  /** After a successful deploy: the app's unused images removed per host (a failure there is only a warning). */
  images?: ImagePruneOutcome[];
}

/** What the host served before, from its (reconciled) current.json, if its container still exists (`containers`: the host's listing). */
function previousOf(cur: CurrentRelease | undefined, containers: readonly { name: string }[]): Release | undefined {
  if (!cur || !containers.some((c) => c.name === cur.container)) return undefined;
  return { version: cur.version, image: cur.image, container: cur.container };
}

/** Every host already serves `version` from the very image `imageId` (compared by content, not by tag). */
async function servingAlready(plans: HostPlan[], version: string, imageIdOf: () => Promise<string | undefined>): Promise<boolean> {
  // Only when every host serves this version is the content compared (saves an inspect otherwise).
  if (!plans.every((p) => p.previous?.version === version)) return false;
  const imageId = await imageIdOf();
  if (!imageId) return false;
  const ids = await Promise.all(plans.map((p) => p.ops.containerImageId(p.previous!.container)));
  return ids.every((id) => id === imageId);
}

/**
 * Deploy `opts.version` to every host of `target`. Throws before the lock (exit 2/3) and when
 * the hosts' records cannot be read (lock released first); otherwise returns a report.
 */
export async function deploy(target: DeployTarget, opts: DeployOptions): Promise<DeployReport> {
  // The env file is checked before anything remote happens (exit 2, file:line); secrets from a
  // manager are read then, on this machine (src/secrets/manager.ts).
  if (target.envIssues.length) throw new ConfigError(target.envIssues);
  target = await resolveManagerSecrets(target);
  if (target.envIssues.length) throw new ConfigError(target.envIssues);
  const runId = opts.runId ?? newRunId();
  const progress = opts.progress ?? new Progress();
  const signal = opts.signal ?? new AbortController().signal;
  const strategy = opts.strategy ?? strategyFor(target.settings.strategy);
  const started = Date.now();
  const envOnly = Boolean(opts.envOnly);
  const streamed = !envOnly && (opts.stream || !target.registry);
  if (opts.digest && streamed) throw new ConfigError([{ file: `environments/${target.envName}.yaml`, path: 'deploy.registry', message: 'a deploy by digest pulls from a registry: set deploy.registry (and do not --stream)' }]);
  if (opts.digest && !isDigest(opts.digest)) throw new ConfigError([{ file: 'command line', path: 'digest', message: `expected sha256:<64 hex digits>, got ${opts.digest}` }]);
  // A streamed image must exist locally: checked before anything remote happens.
  let localImageId: string | undefined;
  if (streamed) {
    const local = `${target.imageRepo}:${opts.version}`;
    const r = await exec(['docker', 'image', 'inspect', '--format', '{{.Id}}', local], { nothrow: true });
    if (r.code !== 0) throw new EnvironmentError(`cannot stream ${local}: no such image on this machine`, 'build it first (pier build), or deploy from a registry (deploy.registry)');
    localImageId = r.stdout.trim();
  }
  // proxy.tls: an expired, mismatched or missing certificate is refused before any host is
  // contacted (exit 3, how to renew); under 14 days left is a warning.
  const cert = target.tls ? certificateForDeploy(target) : undefined;
  if (cert?.verdict.level === 'warn') console.error(`! ${cert.verdict.message}`);
  const sessions = await connectAll(target);
  const ops = sessions.map((s) => new HostOps(s, target, runId));
  let tmpDir: string | undefined;
  try {
    await preflight(ops, target, progress);
    const info: LockInfo = { by: target.by, run: runId, version: envOnly ? '(env only)' : opts.version, at: new Date().toISOString(), pid: process.pid, command: 'deploy' };
    let result: DeployReport | undefined;
    // The lock is taken inside the try whose finally releases it: any error after this point
    // (a corrupt record on a host, a lost connection) leaves no lock behind.
    let locked = false;
    try {
      // Refused or failed part-way, acquireFleetLock has already released what it took.
      await acquireFleetLock(ops, info, target.envName, opts.lockWaitSeconds ?? 0, signal);
      locked = true;
      for (const o of ops) progress.step(o.name, 'locked');
      // A proxy without the HTTPS port is refused now (read-only); the certificate goes up after
      // the preDeploy hook, before any proxy config naming it is loaded.
      if (cert) await checkProxiesForDeploy(ops, target.envName);
      // The audit line goes out while each host's records are reconciled with what its proxy
      // serves (an earlier run may have died between a switch and its records) and its previous
      // release is read (independent).
      let mixed = false;
      const [plans] = await Promise.all([
        Promise.all(ops.map(async (o): Promise<HostPlan> => {
          // The container listing goes out with the records' reads (one round trip, not two).
          const [r, containers] = await Promise.all([reconcileRecords(o, target.by, runId), o.listReleases()]);
          mixed ||= r.mixed;
          if (r.repaired) progress.step(o.name, 'reconciled', r.repaired);
          return { ops: o, previous: previousOf(r.current, containers), switched: false, containers };
        })),
        audit(ops, target, runId, `deploy ${envOnly ? '--env-only' : opts.version} started (strategy ${strategy.name}${opts.stream ? ', streamed' : ''})`),
      ]);
      // Web runs on its hosts (behind their proxies); the other roles on theirs.
      const webPlans = plans.filter((p) => target.webHosts.includes(p.ops.name));
      const rolePlans: RolePlan[] = await planRoles(target, ops);
      // --env-only: the release every host serves, by the very image it runs.
      const served = envOnly ? servedEverywhere(webPlans.length ? webPlans : rolePlans.map((r) => ({ ops: r.ops, previous: r.previous, switched: false })), target.envName) : undefined;
      if (served) opts = { ...opts, version: served.version };
      const findings: Record<string, unknown> = {};
      const report = (ok: boolean, exitCode: number, hosts: HostOutcome[], extra: Partial<DeployReport> = {}): DeployReport => ({
        run: runId, env: target.envName, version: opts.version, ok, exitCode, seconds: (Date.now() - started) / 1000, hosts, ...(rolePlans.length ? { roles: rolePlans.map((r) => ({ role: r.role.name, host: r.ops.name, status: ok ? 'deployed' as const : 'not-changed' as const, serving: ok ? opts.version : r.previous?.version })) } : {}), lock: { released: [], held: [] }, timeline: progress.events, strategy: { name: strategy.name, ...findings }, ...extra,
      });
      // Image: resolved to a digest on the first host (every host runs those bytes), or streamed.
      // Registry: every host starts pulling the tag now, so layers download in parallel while the
      // first host resolves the digest. "Unchanged" is decided on the image's content (its ID), so a
      // re-published tag deploys.
      let image: string;
      let fetchImage: ((o: HostOps) => Promise<string>) | undefined;
      if (envOnly) {
        image = served!.image;
        fetchImage = async (o) => (await o.ensureImage(image), image);
      } else if (streamed) image = `${target.imageRepo}:${opts.version}`;
      else {
        fetchImage = imageFetcher(ops, { kind: 'registry', ref: `${target.registry}/${target.imageRepo}${opts.digest ? `@${opts.digest}` : `:${opts.version}`}` });
        for (const o of ops) {
          progress.step(o.name, 'pulling');
          void fetchImage(o).catch(() => undefined); // awaited below; a failure surfaces there
        }
        image = await fetchImage(ops[0]!);
      }
      const digestRef = image;
      const asPlans = [...webPlans, ...rolePlans.map((r) => ({ ops: r.ops, previous: r.previous, switched: false }))];
      if (!envOnly && !mixed && await servingAlready(asPlans, opts.version, async () => (streamed ? localImageId : plans[0]!.ops.imageId(digestRef)))) {
        // Nothing half-done behind: the other hosts' pulls of this (present) image finish first.
        if (fetchImage) await Promise.allSettled(ops.map(fetchImage));
        for (const p of plans) progress.step(p.ops.name, 'unchanged');
        result = report(true, ExitCode.ok, webPlans.map((p) => ({ host: p.ops.name, status: 'unchanged', serving: opts.version })), { image, ...(rolePlans.length ? { roles: rolePlans.map((r) => ({ role: r.role.name, host: r.ops.name, status: 'unchanged' as const, serving: opts.version })) } : {}) });
      } else {
        if (streamed) {
          tmpDir = await mkdtemp(join(tmpdir(), 'pier-stream-'));
          const file = join(tmpDir, 'image.tar');
          await exec(['docker', 'save', '--output', file, image]).catch((e: Error) => {
            throw new EnvironmentError(`cannot stream ${image}: ${e.message}`, 'build or pull the image locally first');
          });
          fetchImage = imageFetcher(ops, { kind: 'stream', ref: image, file });
          for (const o of ops) progress.step(o.name, 'pulling', 'streamed over SSH');
        }
        const fetch = fetchImage!;
        // Per host, once each: the image (before the preDeploy hook, which gets its digest), and the
        // env file (after it: a refused deploy leaves no env file on a host).
        const once = <T>(cache: Map<HostPlan, Promise<T>>, plan: HostPlan, make: () => Promise<T>) => {
          if (!cache.has(plan)) cache.set(plan, make());
          return cache.get(plan)!;
        };
        const fetched = new Map<HostPlan, Promise<Release>>();
        const fetchRelease = (plan: HostPlan) => once(fetched, plan, async () => plan.ops.release(opts.version, await fetch(plan.ops)));
        const envFiles = new Map<HostPlan, Promise<string | undefined>>();
        const placeEnv = (plan: HostPlan) => once(envFiles, plan, () => (target.envFileContent !== undefined ? plan.ops.uploadEnv(target.envFileContent) : plan.ops.removeEnv().then(() => undefined)));
        const prepare = async (plan: HostPlan) => {
          const [release, envFile] = await Promise.all([fetchRelease(plan), placeEnv(plan)]);
          return { release, envFile };
        };
        const ctx: RolloutContext = { target, runId, version: opts.version, plans: webPlans, progress, signal, prepare, findings };
        const byHost = new Map(plans.map((p) => [p.ops, p]));
        const roleCtx: RoleRolloutContext = { target, runId, version: opts.version, progress, signal, prepare: (o) => prepare(byHost.get(o)!) };
        try {
          // Every host has the image before any traffic moves: no batch waits on its own pull, and a
          // host that cannot get the image fails the deploy while nothing has switched.
          await allOrThrow(await mapLimit(plans, target.parallel, async (p) => {
            await fetchRelease(p);
            progress.step(p.ops.name, 'pulled');
          }));
          image = (await fetchRelease(plans[0]!)).image;
          signal.throwIfAborted();
          // Hook point (preDeploy): so far the lock, the audit line and the image pulls, nothing
          // written that a container or proxy reads; throwing here leaves the hosts as they were.
          await opts.beforeChanges?.({ version: opts.version, image, previous: plans.map((p) => p.previous?.version) });
          // Then the env file and the certificate on every host, before anything starts or switches.
          await allOrThrow(await mapLimit(plans, target.parallel, async (p) => void (await placeEnv(p))));
          if (cert) await installForDeploy(ops, cert.material);
          // Release step: migrations once, on the first host, before any traffic moves.
          if (target.migrate) {
            const { release, envFile } = await prepare(plans[0]!);
            // Data safety: the hook (the CLI's pre-migration backup) runs first and can refuse.
            await opts.beforeMigrate?.({ target, serving: plans[0]!.previous?.version, progress, sessions });
            progress.step(plans[0]!.ops.name, 'migrating', target.migrate.join(' '));
            await plans[0]!.ops.migrate(release, target.migrate, envFile).catch((e: Error) => {
              throw new HealthError(plans[0]!.ops.name, `migration failed: ${e.message}`);
            });
          }
          // Every role to the same release, in roleOrder (default web first); a failure in any
          // role rolls every role back (below).
          for (const name of target.roleOrder) {
            if (name === 'web') {
              if (webPlans.length) await strategy.rollout(ctx);
            } else await rolloutRole(roleCtx, rolePlans.filter((r) => r.role.name === name));
          }
          // Bounded disk: images no container uses any more go (never fails the deploy), beside the
          // audit line. Only after every role is retired: the containers beyond keepReleases are
          // removed there, on success only (a failed deploy keeps every retained release), and their
          // images go here. Before the report, so the deploy's duration includes it.
          const [images] = await Promise.all([pruneImagesAfterDeploy(ops, target, progress), audit(ops, target, runId, `deploy ${opts.version} succeeded`)]);
          result = report(true, ExitCode.ok, webPlans.map((p) => ({ host: p.ops.name, status: 'deployed', serving: opts.version })), { image });
          result.images = images;
        } catch (err) {
          const detectedAt = failureDetectedAt(progress, Date.now());
          const recoverStart = Date.now();
          const [web, roles] = await Promise.all([recover(ctx, err as Error, image), recoverRoles(roleCtx, rolePlans)]);
          const recoverSeconds = (Date.now() - recoverStart) / 1000;
          result = { ...report(false, web.exitCode, web.hosts, { image, ...(rolePlans.length ? { roles } : {}) }), error: web.error, logs: web.logs };
          // pier stats reads these: time to restore starts at the detection (stamped with its own
          // time, written after the hosts are back so the rollback waits for no audit write), and an
          // automatic rollback's duration counts with the commanded ones'.
          await audit(ops, target, runId, [
            { at: detectedAt, message: `deploy ${opts.version} failure detected: ${result.error}` },
            ...automaticRollbackLine(opts.version, web.hosts, recoverSeconds),
            { message: `deploy ${opts.version} failed: ${result.error}` },
          ]).catch(() => undefined);
        }
      }
      // Post hook point, under the lock: no other deploy starts before it has run.
      await opts.beforeUnlock?.(result).catch(() => undefined);
    } finally {
      // The env file is read by docker when a container is created; no plaintext copy stays on
      // a host after the deploy (retained releases carry their env in their container).
      // Removed in the same host step that releases the lock (never while another run holds it).
      const lock = locked ? await releaseFleetLock(ops, runId, { removeEnv: true }) : { released: [], held: [] };
      if (result) result.lock = lock;
      else if (lock.held.length) progress.step(lock.held.map((h) => h.host).join(','), 'failed', 'deploy lock NOT released (host unreachable): pier lock release once it is back');
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

/** --env-only needs every host serving the same release from the same image; else it says why (exit 2). */
function servedEverywhere(plans: HostPlan[], env: string): Release {
  const missing = plans.filter((p) => !p.previous).map((p) => p.ops.name);
  if (missing.length) throw new ConfigError([{ file: `environments/${env}.yaml`, path: 'hosts', message: `--env-only needs a release serving on every host; none on ${missing.join(', ')} (deploy a version first)` }]);
  const first = plans[0]!.previous!;
  const other = plans.find((p) => p.previous!.version !== first.version || p.previous!.image !== first.image);
  if (other) throw new ConfigError([{ file: `environments/${env}.yaml`, path: 'hosts', message: `--env-only needs every host on one release: ${plans[0]!.ops.name} serves ${first.version}, ${other.ops.name} serves ${other.previous!.version} (deploy a version to all first)` }]);
  return first;
}

/** Throw the first failure once every item has settled (nothing left running behind the error). */
async function allOrThrow<T>(results: PromiseSettledResult<T>[]): Promise<void> {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Audit lines of this run on every host, in order (each stamped now unless `at` is given). */
async function audit(ops: HostOps[], target: DeployTarget, runId: string, messages: string | readonly { at?: number; message: string }[]): Promise<void> {
  const lines = (typeof messages === 'string' ? [{ message: messages }] : messages).map((m) => auditLine(new Date(m.at ?? Date.now()), target.by, runId, m.message));
  await Promise.all(ops.map((o) => o.auditLines(lines)));
}

/**
 * When the deploy found its failure: the first host step that reported one (`unhealthy`, `failed`)
 * or, when none did (a canary analysis, a smoke step, an interruption), the moment the rollout gave
 * up (`caughtAt`). Pure.
 */
export function failureDetectedAt(progress: { events: readonly ProgressEvent[]; startedAt: number }, caughtAt: number): number {
  const first = progress.events.find((e) => e.phase === 'unhealthy' || e.phase === 'failed');
  return Math.min(caughtAt, first ? progress.startedAt + first.t * 1000 : Infinity);
}

/**
 * The audit line of a deploy that switched hosts back itself (none when no host had switched):
 * `rollback (automatic, deploy V failed) web1:V->P ... in Ns`, the commanded rollback's shape, so
 * pier stats counts its duration. Pure.
 */
export function automaticRollbackLine(version: string, hosts: readonly HostOutcome[], seconds: number): { message: string }[] {
  const back = hosts.filter((h) => h.status === 'rolled-back' || h.status === 'rollback-failed');
  if (!back.length) return [];
  return [{ message: `rollback (automatic, deploy ${version} failed) ${back.map((h) => `${h.host}:${version}->${h.status === 'rolled-back' ? h.serving ?? '?' : '?(failed)'}`).join(' ')} in ${seconds.toFixed(2)}s` }];
}
