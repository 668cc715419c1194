/**
 * The one place remote commands run: a host session executes argv built by commands/*, turns
 * non-zero exits into errors that name the host and command, and keeps output out of logs
 * unless redacted.
 */
import { EnvironmentError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import { SshConnection, type ExecOptions, type RemoteConnection, type RemoteResult, type SshAuth, type SshTarget } from './ssh.ts';

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
    const r = await this.conn.exec(argv, opts);
    if (r.code !== 0) throw new RemoteCommandError(this.name, argv, r);
    return r.stdout;
  }

  /** Run and return the result whatever the exit code (transport failures still throw). */
  probe(argv: readonly string[], opts: ExecOptions = {}): Promise<RemoteResult> {
    return this.conn.exec(argv, opts);
  }

  close(): void {
    this.conn.close();
  }
}

/** Connect to one host (over SSH unless `auth.transport` says otherwise). */
export async function openHost(target: SshTarget, auth: SshAuth): Promise<HostSession> {
  return new HostSession(target, await (auth.transport ?? SshConnection.connect)(target, auth));
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
