/** Connecting to a fleet and checking it before anything changes: shared by every deploy-family verb. */
import { EnvironmentError, PierError } from '../util/errors.ts';
import { newRunId } from '../util/run-id.ts';
import { mapLimit, openHost, type HostSession } from './executor.ts';
import { HostOps } from './host-ops.ts';
import type { Progress } from './progress.ts';
import { belowFloor, refusalMessage, type DiskFacts } from './disk.ts';
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

/**
 * Reachable, Docker up, enough disk (space and inodes under deploy.dir and Docker's data root):
 * checked on every host before anything changes on any host. The base (directories, network) is
 * made only once every host passed, so a refused preflight has changed nothing anywhere.
 */
export async function preflight(ops: HostOps[], target: DeployTarget, progress: Progress): Promise<void> {
  const checked = await mapLimit(ops, target.parallel, async (o) => {
    // The two checks go out together (one round trip each, in parallel).
    const [info, disk] = await Promise.allSettled([o.dockerVersion(), o.disk()]);
    if (info.status === 'rejected') throw new EnvironmentError(`${o.name}: Docker is not usable: ${(info.reason as Error).message}`);
    if (disk.status === 'rejected') throw disk.reason;
    const problems = belowFloor(disk.value, target.settings);
    // Only a host below a floor pays for `docker system df`: what uses the space, said in the refusal.
    if (problems.length) throw new EnvironmentError(refusalMessage(o.name, problems, await o.dockerUse(), target.envName));
    return { version: info.value, disk: disk.value };
  });
  refuseOnFailure(checked);
  const based = await mapLimit(ops, target.parallel, async (o, i) => {
    await o.ensureBase();
    const c = (checked[i] as PromiseFulfilledResult<{ version: string; disk: DiskFacts[] }>).value;
    progress.step(o.name, 'preflight', `docker ${c.version}, ${c.disk.map((d) => `${d.freeMb} MB free${d.role === 'docker' ? ' (docker)' : ''}`).join(', ')}`);
  });
  refuseOnFailure(based);
}

function refuseOnFailure(results: PromiseSettledResult<unknown>[]): void {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length) throw new EnvironmentError(`preflight failed, nothing was changed:\n${failed.map((f) => `  ${(f.reason as Error).message}`).join('\n')}`, (failed[0]!.reason as { hint?: string }).hint);
}
