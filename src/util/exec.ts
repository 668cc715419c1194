import { spawn } from 'node:child_process';
import { ProcessError } from './errors.ts';
import { redact } from './redact.ts';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Called with each chunk of output as it arrives (progress). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Resolve instead of throwing on a non-zero exit. */
  nothrow?: boolean;
}

export interface ExecResult {
  argv: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The one place pier runs a local process. Commands are argv arrays built elsewhere as data;
 * no shell is involved, so nothing is re-parsed or injected.
 */
export function exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('exec: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
    });
    let stdout = '';
    let stderr = '';
    // On timeout the child is killed and its pipes closed, so a grandchild still holding them
    // (a wrapper script's `sleep`) cannot keep the caller waiting.
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          child.stdout.destroy();
          child.stderr.destroy();
        }, opts.timeoutMs)
      : undefined;
    child.stdout.on('data', (d: Buffer) => {
      const s = d.toString();
      stdout += s;
      opts.onOutput?.(s, 'stdout');
    });
    child.stderr.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      opts.onOutput?.(s, 'stderr');
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ProcessError(argv, null, stdout, redact(`${stderr}${err.message}`)));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = { argv, code, stdout, stderr };
      if (code !== 0 && !opts.nothrow) reject(new ProcessError(argv, code, redact(stdout), redact(stderr)));
      else resolve(result);
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
