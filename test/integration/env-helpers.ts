// Shared by the env-*.test.ts files: a unique, labelled compose project per test file, the CLI
// as a child process, and a look at what Docker still holds for a run.
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { newRunId } from '../../src/util/run-id.ts';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from '../helpers/paths.ts';

export interface TestRun {
  runId: string;
  project: string;
  /** Process env for compose and the CLI: labels name this run; pid/host make leftovers reapable. */
  env: NodeJS.ProcessEnv;
}

export function testRun(kind: string, extra: Record<string, string> = {}): TestRun {
  const runId = newRunId();
  return {
    runId,
    project: `pier-t-${kind}-${runId}`.toLowerCase(),
    env: { ...process.env, PIER_RUN: runId, PIER_PID: String(process.pid), PIER_HOST: hostname(), ...extra },
  };
}

/** Run `bin/pier.js ...args`; never throws, returns code and output. */
export function pier(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bin/pier.js'), ...args], { cwd: repoRoot, env, timeout: timeoutMs, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Containers, networks and volumes Docker holds with this run's label. */
export async function leftovers(runId: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const f = ['--filter', `label=pier.run=${runId}`];
  const lines = async (argv: string[]) => (await exec(argv)).stdout.split('\n').filter(Boolean).sort();
  return {
    containers: await lines(['docker', 'ps', '-a', ...f, '--format', '{{.Names}}']),
    networks: await lines(['docker', 'network', 'ls', ...f, '--format', '{{.Name}}']),
    volumes: await lines(['docker', 'volume', 'ls', ...f, '--format', '{{.Name}}']),
  };
}

/** GET http://addr/path as JSON, with a bounded timeout. */
export async function getJson(addr: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://${addr}${path}`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body };
}

