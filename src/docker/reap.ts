import { hostname } from 'node:os';
import { docker } from './client.ts';

export interface ReapResult {
  containers: string[];
  networks: string[];
  volumes: string[];
}

export interface ReapOptions {
  /** Only this run's resources. */
  runId?: string;
  /** Also remove resources of runs whose process is still alive (default: only dead runs). */
  all?: boolean;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a resource with these labels belongs to a run that can no longer clean up after itself. */
export function isOrphan(labels: Record<string, string> | undefined, opts: ReapOptions, self = { host: hostname(), alive: pidAlive }): boolean {
  if (!labels?.['pier.run']) return false;
  if (opts.runId) return labels['pier.run'] === opts.runId;
  if (opts.all) return true;
  const pid = Number(labels['pier.pid']);
  if (labels['pier.host'] !== self.host || !pid) return false; // another machine's run: not ours to judge
  return !self.alive(pid);
}

/** Remove containers, then networks, then volumes labelled `pier.run` that `opts` selects. */
export async function reap(opts: ReapOptions = {}): Promise<ReapResult> {
  const d = docker();
  const filters = JSON.stringify({ label: [opts.runId ? `pier.run=${opts.runId}` : 'pier.run'] });
  const result: ReapResult = { containers: [], networks: [], volumes: [] };
  for (const c of await d.listContainers({ all: true, filters })) {
    if (!isOrphan(c.Labels, opts)) continue;
    await d.getContainer(c.Id).remove({ force: true, v: true }).catch(ignoreGone);
    result.containers.push(c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12));
  }
  for (const n of await d.listNetworks({ filters })) {
    if (!isOrphan(n.Labels, opts)) continue;
    await d.getNetwork(n.Id).remove().catch(ignoreGone);
    result.networks.push(n.Name);
  }
  const { Volumes } = await d.listVolumes({ filters });
  for (const v of Volumes ?? []) {
    if (!isOrphan(v.Labels, opts)) continue;
    await d.getVolume(v.Name).remove({ force: true }).catch(ignoreGone);
    result.volumes.push(v.Name);
  }
  return result;
}

function ignoreGone(err: { statusCode?: number }): void {
  if (err.statusCode !== 404 && err.statusCode !== 409) throw err;
}
