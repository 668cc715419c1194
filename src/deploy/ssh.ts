/**
 * The SSH boundary: the only module that touches `ssh2`. Key auth (file or agent), host keys
 * checked against pinned fingerprints or known_hosts (never trusted on first use), connect and
 * command timeouts, an optional jump host.
 */
import { Readable, type Writable } from 'node:stream';
import ssh2, { type Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { EnvironmentError } from '../util/errors.ts';
import { toCommandLine } from './commands/shell.ts';
import { checkHostKey, knownHostsName } from './known-hosts.ts';

export interface SshTarget {
  /** Short name used in messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Pinned `SHA256:...` fingerprint; checked instead of known_hosts. */
  hostKey?: string;
}

export interface SshAuth {
  privateKey?: Buffer;
  /** SSH agent socket (SSH_AUTH_SOCK). */
  agent?: string;
  /** known_hosts file content. */
  knownHosts?: string;
  /** Where the known_hosts content came from (for the hint). */
  knownHostsFile?: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  jump?: SshTarget;
  /**
   * How a host session is opened (default: SSH). The fault-injection harness (test/sim/) passes
   * simulated hosts here; every deploy-family verb connects through it.
   */
  transport?: Transport;
}

/** A connection that runs argv on a host: SSH, or a simulated host in tests. */
export interface RemoteConnection {
  exec(argv: readonly string[], opts?: ExecOptions): Promise<RemoteResult>;
  close(): void;
}

export type Transport = (target: SshTarget, auth: SshAuth) => Promise<RemoteConnection>;

export interface RemoteResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Sent on the command's stdin (file uploads, `docker load` streams). */
  input?: string | Buffer | Readable;
  timeoutMs?: number;
  /** Binary stdout goes here as it arrives (with backpressure) instead of into the result (database dumps). */
  output?: Writable;
}

/** A host whose key did not match: exit 3, with how to trust it after checking out of band. */
export class HostKeyError extends EnvironmentError {
  constructor(target: SshTarget, reason: 'unknown' | 'changed' | 'revoked', seen: string, knownHostsFile?: string) {
    const what = reason === 'unknown' ? 'is not known' : reason === 'revoked' ? 'is revoked' : 'CHANGED (possible man-in-the-middle, or the host was rebuilt)';
    super(
      `${target.name} (${target.address}:${target.port}): host key ${seen} ${what}; refusing to connect`,
      `check the fingerprint on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then pin it as hostKey: ${seen} for this host in the environment file` +
        (knownHostsFile ? `, or add it to ${knownHostsFile} (ssh-keyscan -p ${target.port} ${target.address})` : ''),
    );
  }
}

/** One authenticated SSH connection to a host. */
export class SshConnection {
  private closed = false;
  private lostReason?: string;
  private readonly pending = new Set<(err: Error) => void>();

  private constructor(
    readonly target: SshTarget,
    private readonly client: Client,
    private readonly auth: SshAuth,
    private readonly jumpClient?: Client,
  ) {
    const lost = (why: string) => {
      if (this.closed) return;
      this.lostReason ??= why;
      for (const fail of this.pending) fail(this.lostError());
    };
    client.on('close', () => lost('connection closed'));
    client.on('error', (e) => lost(e.message));
  }

  /** Connect and authenticate; refuses unknown or changed host keys. */
  static async connect(target: SshTarget, auth: SshAuth): Promise<SshConnection> {
    let jumpClient: Client | undefined;
    let sock: ConnectConfig['sock'];
    if (auth.jump) {
      jumpClient = await open(auth.jump, auth);
      sock = await new Promise((resolve, reject) =>
        jumpClient!.forwardOut('127.0.0.1', 0, target.address, target.port, (err, stream) => (err ? reject(new EnvironmentError(`${target.name}: jump host ${auth.jump!.name} could not reach ${target.address}:${target.port}: ${err.message}`)) : resolve(stream))),
      );
    }
    try {
      const client = await open(target, auth, sock);
      return new SshConnection(target, client, auth, jumpClient);
    } catch (err) {
      jumpClient?.end();
      throw err;
    }
  }

  private lostError(): EnvironmentError {
    return new EnvironmentError(`${this.target.name}: SSH connection lost (${this.lostReason ?? 'closed'})`);
  }

  /** Run an argv on the host. Resolves with its exit code and output; rejects only on transport failure or timeout. */
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RemoteResult> {
    if (this.lostReason) return Promise.reject(this.lostError());
    if (this.closed) return Promise.reject(new EnvironmentError(`${this.target.name}: SSH connection already closed`));
    const line = toCommandLine(argv);
    const timeoutMs = opts.timeoutMs ?? this.auth.commandTimeoutMs;
    return new Promise<RemoteResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.pending.delete(fail);
        fn();
      };
      const fail = (err: Error) => finish(() => {
        channel?.close();
        reject(err);
      });
      this.pending.add(fail);
      const timer = setTimeout(() => fail(new EnvironmentError(`${this.target.name}: command timed out after ${Math.round(timeoutMs / 1000)}s: ${argv.slice(0, 3).join(' ')}...`)), timeoutMs);
      this.client.exec(line, (err, ch) => {
        if (err) return fail(new EnvironmentError(`${this.target.name}: could not start command: ${err.message}`));
        channel = ch;
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        const output = opts.output;
        if (output) {
          output.on('error', (e) => fail(new EnvironmentError(`${this.target.name}: output stream failed: ${e.message}`)));
          ch.on('data', (d: Buffer) => {
            if (!output.write(d)) {
              ch.pause();
              output.once('drain', () => ch.resume());
            }
          });
        } else ch.on('data', (d: Buffer) => (stdout += d.toString()));
        ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        ch.on('exit', (c: number | null) => (code = c));
        ch.on('close', () => finish(() => resolve({ code, stdout, stderr })));
        const input = opts.input;
        if (input instanceof Readable) {
          input.on('error', (e) => fail(new EnvironmentError(`${this.target.name}: input stream failed: ${e.message}`)));
          input.pipe(ch);
        } else ch.end(input ?? '');
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
    this.jumpClient?.end();
  }
}

function open(target: SshTarget, auth: SshAuth, sock?: ConnectConfig['sock']): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let keyProblem: HostKeyError | undefined;
    const timer = setTimeout(() => {
      client.end();
      reject(new EnvironmentError(`${target.name} (${target.address}:${target.port}): SSH connect timed out after ${Math.round(auth.connectTimeoutMs / 1000)}s`));
    }, auth.connectTimeoutMs + 1000);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.once('error', (err) => {
      clearTimeout(timer);
      reject(keyProblem ?? new EnvironmentError(`${target.name} (${target.address}:${target.port}): SSH connect failed: ${err.message}`, 'is the host up and sshd running? check address/port/user and the key'));
    });
    client.connect({
      host: target.address,
      port: target.port,
      username: target.user,
      sock,
      privateKey: auth.privateKey,
      agent: auth.privateKey ? undefined : auth.agent,
      readyTimeout: auth.connectTimeoutMs,
      keepaliveInterval: 2000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        const verdict = checkHostKey(key, { pinned: target.hostKey, knownHosts: auth.knownHosts, host: target.address, port: target.port });
        if (!verdict.ok) keyProblem = new HostKeyError(target, verdict.reason, verdict.seen, auth.knownHostsFile);
        return verdict.ok;
      },
    });
  });
}

export { knownHostsName };
