/** Connecting to a fleet and checking it before anything changes: shared by every deploy-family verb. */
import { EnvironmentError, PierError } from '../util/errors.ts';
import { newRunId } from '../util/run-id.ts';
import { mapLimit, openHost, type HostSession } from './executor.ts';
import { HostOps } from './host-ops.ts';
import type { Progress } from './progress.ts';
import type { DeployTarget } from './target.ts';

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

/** Run `fn` with every host connected; sessions closed on every path. */
export async function withHosts<T>(target: DeployTarget, fn: (ops: HostOps[], runId: string) => Promise<T>): Promise<T> {
  const runId = newRunId();
  const sessions = await connectAll(target);
  try {
    return await fn(sessions.map((s) => new HostOps(s, target, runId)), runId);
  } finally {
    for (const s of sessions) s.close();
  }
}

/** Reachable, Docker up, enough disk: checked on every host before anything changes. */
export async function preflight(ops: HostOps[], target: DeployTarget, progress: Progress, light = false): Promise<void> {
  const results = await mapLimit(ops, target.parallel, async (o) => {
    if (light) {
      // Rollbacks: reachable (already connected) and Docker answering; nothing new lands on disk.
      await o.dockerVersion();
      return progress.step(o.name, 'preflight');
    }
    const version = await o.dockerVersion().catch((e: Error) => {
      throw new EnvironmentError(`${o.name}: Docker is not usable: ${e.message}`);
    });
    const kb = await o.freeKb();
    if (Number.isFinite(kb) && kb < target.settings.minFreeMb * 1024) {
      throw new EnvironmentError(`${o.name}: only ${Math.round(kb / 1024)} MB free under ${target.settings.dir}; need ${target.settings.minFreeMb} MB (deploy.minFreeMb)`);
    }
    await o.ensureBase();
    progress.step(o.name, 'preflight', `docker ${version}, ${Math.round(kb / 1024)} MB free`);
  });
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) throw new EnvironmentError(`preflight failed, nothing was changed:\n${failed.map((f) => `  ${(f.reason as Error).message}`).join('\n')}`);
}
