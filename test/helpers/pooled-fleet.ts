/**
 * A test file's side of the run's fleet pool (test/helpers/fleet-pool.ts, served by
 * test/global-setup.ts): ask for a fleet, get its description, rebuild the functions a `Fleet`
 * has (push, hostExec, down) in this process, hand it back for a reset after the file.
 */
import { inject } from 'vitest';
import { exec } from '../../src/util/exec.ts';
import { poll } from '../../src/util/poll.ts';
import type { Fleet } from './fleet.ts';
import type { FleetDescription, FleetRequest } from './fleet-pool.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the run's fleet pool; empty when the run has none (then each file starts its own). */
    fleetPool: string;
  }
}

export interface PooledFleet extends Fleet {
  /** Hand the fleet back: it is reset; resolves to what the file left behind (empty when nothing). */
  release(): Promise<string[]>;
}

/** The pool's URL when this run has one (the project's global setup provides it). */
export function fleetPoolUrl(): string | undefined {
  try {
    return inject('fleetPool') || undefined;
  } catch {
    return undefined;
  }
}

async function call<T>(url: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
  const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  const value = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`fleet pool ${path}: ${value.error ?? res.status}`);
  return value;
}

export async function acquirePooledFleet(url: string, req: FleetRequest, timeoutMs = 290_000): Promise<PooledFleet> {
  const d = await call<FleetDescription>(url, '/acquire', req, timeoutMs);
  const pushed: string[] = [];
  const docker = (...args: string[]) => exec(['docker', ...args]).then((r) => r.stdout.trim());
  const hostExec = async (name: string, argv: string[]) => {
    const h = d.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return docker('exec', h.container, ...argv);
  };
  const push = async (localRef: string, repoTag: string) => {
    const remote = `127.0.0.1:${d.registryPort}/${repoTag}`;
    await docker('tag', localRef, remote);
    pushed.push(remote);
    await poll(`registry on 127.0.0.1:${d.registryPort}`, async () => ((await exec(['docker', 'push', '--quiet', remote], { nothrow: true })).code === 0 ? true : undefined), { timeoutMs: 20_000, intervalMs: 300 });
  };
  let released: Promise<string[]> | undefined;
  const release = () =>
    (released ??= (async () => {
      if (pushed.length) await exec(['docker', 'image', 'rm', ...new Set(pushed)], { nothrow: true });
      return (await call<{ left: string[] }>(url, '/release', { runId: d.runId }, 110_000)).left;
    })());
  const { own: _own, ...fleet } = d;
  void _own;
  return { ...fleet, push, hostExec, down: async () => void (await release()), release };
}
