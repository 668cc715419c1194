/**
 * `pier` as a user runs it: bin/pier.js in a child process (node + tsx), never throwing; exit code,
 * signal and output come back. Bounded in time (SIGKILL at `timeoutMs`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

export const pierBin = join(repoRoot, 'bin', 'pier.js');

export interface RunPierOptions {
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Merged over process.env. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Written to stdin, which is then closed (e.g. a value for `pier secrets set`); without it stdin is empty. */
  input?: string;
  /** Called with all stderr so far on every chunk (e.g. to send SIGINT at a given step). */
  onStderr?: (all: string, child: ChildProcess) => void;
  /** Called with the child once spawned (e.g. to kill what a timed-out test left running). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface PierResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

export function runPier(args: string[], opts: RunPierOptions = {}): Promise<PierResult> {
  const child = spawn(process.execPath, [pierBin, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  // A pier that exits before reading its stdin must not turn the write into an uncaught EPIPE.
  if (opts.input !== undefined) child.stdin!.on('error', () => undefined).end(opts.input);
  opts.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    opts.onStderr?.(stderr, child);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid! });
    });
  });
}

/** The same, synchronously (quick commands in unit tests: --help, config errors). */
export function runPierSync(args: string[], opts: Omit<RunPierOptions, 'onStderr' | 'onSpawn'> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [pierBin, ...args], { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
