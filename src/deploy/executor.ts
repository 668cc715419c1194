/**
 * The one place remote commands run: a host session executes argv built by commands/*, turns
 * non-zero exits into errors that name the host and command, and keeps output out of logs
 * unless redacted.
 */
import { EnvironmentError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import { SshConnection, type ExecOptions, type RemoteConnection, type RemoteResult, type SshAuth, type SshTarget } from './ssh.ts';

/**
 * PIER_TRACE=1: one stderr line per remote command (host, what ran, exit, milliseconds), to see
 * where a slow deploy's time goes. Only the command's head is shown (scripts carry values as
 * parameters), redacted like every other output.
 */
const TRACE = process.env.PIER_TRACE === '1';
const traceStart = performance.now();

function traceLine(host: string, argv: readonly string[], code: number | null, ms: number): void {
  const head = argv[0] === 'sh' ? `sh ${(argv[2] ?? '').split('\n').find((l) => l.trim() && !l.trim().startsWith('#'))?.trim().slice(0, 60) ?? ''}` : argv.slice(0, 4).join(' ');
  process.stderr.write(`[trace] +${((performance.now() - traceStart) / 1000).toFixed(3)}s ${host} ${redact(head)} exit ${code} ${ms.toFixed(0)}ms\n`);
}

/** A remote command exited non-zero. */
export class RemoteCommandError extends EnvironmentError {
  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    readonly result: RemoteResult,
  ) {
    const tail = redact((result.stderr || result.stdout).trim()).split('\n').slice(-8).join('\n');
    // Scripts carry values as parameters; show the command's head only.
    super(`${host}: ${argv.slice(0, argv[0] === 'sh' ? 1 : 4).join(' ')} failed (exit ${result.code})${tail ? `: ${tail}` : ''}`);
  }
}

/** One connected host. */
export class HostSession {
  constructor(
    readonly target: SshTarget,
    private readonly conn: RemoteConnection,
  ) {}

  get name(): string {
    return this.target.name;
  }

  /** Run and return stdout; throws RemoteCommandError on a non-zero exit. */
  async run(argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
    const r = await this.probe(argv, opts);
    if (r.code !== 0) throw new RemoteCommandError(this.name, argv, r);
    return r.stdout;
  }

  /** Run and return the result whatever the exit code (transport failures still throw). */
  async probe(argv: readonly string[], opts: ExecOptions = {}): Promise<RemoteResult> {
    if (!TRACE) return this.conn.exec(argv, opts);
    const t0 = performance.now();
    const r = await this.conn.exec(argv, opts);
    traceLine(this.name, argv, r.code, performance.now() - t0);
    return r;
  }

  close(): void {
    this.conn.close();
  }
}

/** Connect to one host (over SSH unless `auth.transport` says otherwise). */
export async function openHost(target: SshTarget, auth: SshAuth): Promise<HostSession> {
  const t0 = performance.now();
  const conn = await (auth.transport ?? SshConnection.connect)(target, auth);
  if (TRACE) traceLine(target.name, ['connect'], 0, performance.now() - t0);
  return new HostSession(target, conn);
}

/**
 * Run `fn` over `items` with at most `limit` at once; results in input order, never rejects.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
