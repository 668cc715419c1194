/**
 * Bounded disk on hosts: the app's images no container uses are removed after every successful
 * deploy (a failure is a warning, never a failed deploy), and `pier prune <env>` removes, under the
 * deploy lock, stopped release containers beyond deploy.keepReleases and then those images;
 * `--dry-run` lists what would go per host with the images' sizes and changes nothing.
 */
import { mapLimit } from './executor.ts';
import type { PrunedImage } from './commands/images.ts';
import { withHosts } from './fleet.ts';
import { releasesToPrune, type HostOps } from './host-ops.ts';
import { acquireFleetLock, releaseFleetLock, type LockRelease } from './lock.ts';
import type { Progress } from './progress.ts';
import { auditLine, type LockInfo } from './records.ts';
import type { DeployTarget } from './target.ts';
import { redact } from '../util/redact.ts';

/** One host's image prune: what went (or would), the images' sizes, or why it failed. */
export interface ImagePruneOutcome {
  host: string;
  images: PrunedImage[];
  /** Sum of the images' sizes: at most what is freed (layers shared with kept images stay). */
  bytes: number;
  error?: string;
}

/** The proxy's and every accessory's image: never removed, whoever uses them. */
function protectedImages(target: DeployTarget): string[] {
  return Object.values(target.config?.env?.accessories ?? {}).map((a) => a.image);
}

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

/** `reg/app:v1, reg/app@sha256:abc...` -> `v1` style short names for a progress line. */
function shortNames(images: readonly PrunedImage[]): string {
  return images.map((i) => i.refs.map((r) => r.replace(/^.*[:@]/, '').slice(0, 19)).join('/')).join(', ');
}

/**
 * After a successful deploy: on every host, the app's images no container uses go (one host-side
 * command each, in parallel). Never throws: a host that fails is reported with its error.
 */
export async function pruneImagesAfterDeploy(ops: readonly HostOps[], target: DeployTarget, progress: Progress): Promise<ImagePruneOutcome[]> {
  const protect = protectedImages(target);
  const results = await mapLimit(ops, target.parallel, async (o): Promise<ImagePruneOutcome> => {
    try {
      // What docker really did: deleted, or (named by another repository too) untagged of the app's names.
      const images = (await o.pruneImages('remove', { protect })).filter((i) => i.deleted || i.untagged?.length);
      const bytes = images.filter((i) => i.deleted).reduce((n, i) => n + i.bytes, 0);
      if (images.length) progress.step(o.name, 'pruned', `${images.length} unused image(s) removed (${shortNames(images)}; up to ${mb(bytes)})`);
      return { host: o.name, images, bytes };
    } catch (e) {
      const error = redact((e as Error).message.split('\n')[0] ?? '');
      progress.step(o.name, 'pruned', `image prune failed (the deploy stands; pier prune ${target.envName} retries): ${error}`);
      return { host: o.name, images: [], bytes: 0, error };
    }
  });
  return results.map((r, i) => (r.status === 'fulfilled' ? r.value : { host: ops[i]!.name, images: [], bytes: 0, error: String(r.reason) }));
}

/** One host in `pier prune`: containers and images removed (or, dry run, that would be). */
export interface PruneHostReport extends ImagePruneOutcome {
  containers: { name: string; release: string; role: string; state: string }[];
}

export interface PruneReport {
  run: string;
  env: string;
  dryRun: boolean;
  ok: boolean;
  hosts: PruneHostReport[];
  lock?: LockRelease;
}

/** Stopped release containers beyond keepReleases on one host, of web and of each role it runs (never the current one). */
async function containersToPrune(o: HostOps, target: DeployTarget): Promise<{ role: string; current?: string; list: PruneHostReport['containers'] }[]> {
  const roles = [...(target.webHosts.includes(o.name) ? [''] : []), ...target.roles.filter((r) => r.hosts.includes(o.name)).map((r) => r.name)];
  return Promise.all(roles.map(async (role) => {
    const [cur, all] = await Promise.all([o.readCurrent(role || undefined), o.listReleases(role)]);
    const names = new Set(releasesToPrune(all, target.settings.keepReleases, cur ? [cur.container] : []));
    return { role, current: cur?.container, list: all.filter((c) => names.has(c.name)).map((c) => ({ name: c.name, release: c.release, role: role || 'web', state: c.state })) };
  }));
}

const failedHost = (host: string, e: unknown): PruneHostReport => ({ host, containers: [], images: [], bytes: 0, error: redact(e instanceof Error ? e.message : String(e)) });

/**
 * `pier prune <env>`: per host, stopped release containers beyond keepReleases (web and each
 * role), then the app's images no container uses. Under the deploy lock (refused, naming the
 * holder, when another run has it); `dryRun` takes no lock and changes nothing.
 */
export async function prune(target: DeployTarget, opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<PruneReport> {
  const dryRun = Boolean(opts.dryRun);
  const protect = protectedImages(target);
  return withHosts(target, async (ops, runId) => {
    const perHost = async (o: HostOps): Promise<PruneHostReport> => {
      const plan = await containersToPrune(o, target);
      let containers = plan.flatMap((p) => p.list);
      if (!dryRun) {
        // The same decision, taken again by the removal itself on a fresh listing.
        const removed = new Set((await Promise.all(plan.map((p) => o.prune(target.settings.keepReleases, p.current ? [p.current] : [], undefined, p.role)))).flat());
        containers = containers.filter((c) => removed.has(c.name));
      }
      const images = await o.pruneImages(dryRun ? 'list' : 'remove', { protect, without: dryRun ? containers.map((c) => c.name) : [] });
      const counted = dryRun ? images : images.filter((i) => i.deleted);
      return { host: o.name, containers, images, bytes: counted.reduce((n, i) => n + i.bytes, 0) };
    };
    const runAll = async () => (await mapLimit(ops, target.parallel, perHost)).map((r, i) => (r.status === 'fulfilled' ? r.value : failedHost(ops[i]!.name, r.reason)));
    if (dryRun) {
      const hosts = await runAll();
      return { run: runId, env: target.envName, dryRun, ok: hosts.every((h) => !h.error), hosts };
    }
    const info: LockInfo = { by: target.by, run: runId, version: '(prune)', at: new Date().toISOString(), pid: process.pid, command: 'prune' };
    await acquireFleetLock(ops, info, target.envName, 0, opts.signal);
    let hosts: PruneHostReport[] = [];
    let lock: LockRelease;
    try {
      hosts = await runAll();
      const line = auditLine(new Date(), target.by, runId, `prune: ${hosts.map((h) => `${h.host} ${h.error ? 'failed' : `${h.containers.length} containers, ${h.images.filter((i) => i.deleted).length} images`}`).join('; ')}`);
      await Promise.all(ops.map((o) => o.audit(line).catch(() => undefined)));
    } finally {
      lock = await releaseFleetLock(ops, runId);
    }
    return { run: runId, env: target.envName, dryRun, ok: hosts.every((h) => !h.error), hosts, lock };
  });
}
