/**
 * A compose project driven through the real `docker compose`: up (then wait until every service
 * is healthy), down, status, logs. The only module here that runs compose; argv comes from
 * commands.ts, judgement from status.ts.
 */
import { EnvironmentError } from '../util/errors.ts';
import { exec, type ExecOptions, type ExecResult } from '../util/exec.ts';
import { PollError, poll, realClock, type Clock } from '../util/poll.ts';
import { redact, StreamRedactor } from '../util/redact.ts';
import {
  composeArgv,
  configCheckArgv,
  downArgv,
  logsArgv,
  portArgv,
  psArgv,
  servicesArgv,
  upArgv,
  type ComposeTarget,
  type LogsOptions,
} from './commands.ts';
import { assess, describeState, parsePs, type ServiceState } from './status.ts';

export type Runner = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

/** Time source for the wait loop (tests inject a fake one). */
export type { Clock };

export interface StackOptions {
  /** Environment of every compose process (interpolation: it wins over the env files). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  run?: Runner;
  clock?: Clock;
}

export interface UpOptions {
  build?: boolean;
  /** Give up waiting for health after this long (default 180 s). */
  timeoutMs?: number;
  pollMs?: number;
  /** Progress lines (compose's own output, the services still pending). */
  onProgress?: (line: string) => void;
  /** Log lines of a failed service put into the error (default 30). */
  logLines?: number;
}

export interface UpResult {
  services: ServiceState[];
  /** From the start of `up` to every service healthy. */
  seconds: number;
}

export class ComposeStack {
  readonly target: ComposeTarget;
  private readonly run: Runner;
  private readonly clock: Clock;
  private readonly execOpts: ExecOptions;

  constructor(target: ComposeTarget, opts: StackOptions = {}) {
    this.target = target;
    this.run = opts.run ?? exec;
    this.clock = opts.clock ?? realClock;
    this.execOpts = { env: opts.env ?? process.env, cwd: opts.cwd };
  }

  /** `docker compose config --quiet`: the files parse and interpolate; nothing starts. */
  async check(): Promise<void> {
    const r = await this.run(configCheckArgv(this.target), { ...this.execOpts, nothrow: true });
    if (r.code !== 0) throw new EnvironmentError(`compose files of project ${this.target.project} are invalid:\n${redact(r.stderr.trim())}`);
  }

  /** Services the active profiles enable. */
  async services(): Promise<string[]> {
    const r = await this.run(servicesArgv(this.target), this.execOpts);
    return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();
  }

  async status(): Promise<ServiceState[]> {
    const r = await this.run(psArgv(this.target), this.execOpts);
    return parsePs(r.stdout);
  }

  /**
   * Start the project and wait until every service is healthy (or completed, for one-shot jobs).
   * Fails with the failing service's name, its state and its last log lines.
   */
  async up(opts: UpOptions = {}): Promise<UpResult> {
    const start = this.clock.now();
    const timeoutMs = opts.timeoutMs ?? 180_000;
    const expected = await this.services();
    // One stream redactor per output stream: a line (and a secret) split between chunks is whole again.
    const redactors = opts.onProgress && { stdout: progressLines(opts.onProgress), stderr: progressLines(opts.onProgress) };
    const onOutput = redactors && ((chunk: string, stream: 'stdout' | 'stderr') => redactors[stream].write(chunk));
    // `up -d` blocks while dependents wait for `service_healthy`, and waits on for a dependency
    // that crash-loops (each restart resets its health). So the states are watched while it runs,
    // and a service that fails stops the wait at once instead of at the timeout.
    const abort = new AbortController();
    let upRun: ExecResult | undefined;
    const upDone = this.run(upArgv(this.target, { build: opts.build }), { ...this.execOpts, nothrow: true, onOutput, timeoutMs, signal: abort.signal }).then(
      (r) => {
        redactors?.stdout.end();
        redactors?.stderr.end();
        upRun = r;
      },
      (err: Error) => void (upRun = { argv: [], code: null, stdout: '', stderr: err.message }),
    );
    let lastPending = '';
    let states: ServiceState[] = [];
    let pending: string[] = [];
    const check = async (): Promise<UpResult | undefined> => {
      states = await this.status();
      const verdict = assess(expected, states);
      if (verdict.kind === 'failed') throw await this.failure(verdict.service, verdict.reason, opts.logLines);
      pending = verdict.kind === 'waiting' ? verdict.pending : [];
      if (upRun && upRun.code === 0 && verdict.kind === 'ready') return { services: states, seconds: (this.clock.now() - start) / 1000 };
      if (upRun && upRun.code !== 0) {
        // compose gave up or ran out of time: name a container that is stuck if there is one,
        // else (build failed, port taken...) report compose's own words.
        const said = composeCulprit(upRun.stderr, states);
        const stuck = said ?? pending.find((p) => states.some((s) => s.service === p && s.state !== 'created')) ?? pending.find((p) => states.some((s) => s.service === p));
        if (stuck) {
          const reason = `did not become healthy (${describeState(states.find((s) => s.service === stuck))})${said ? `; compose: ${lastLine(upRun.stderr)}` : ''}`;
          throw await this.failure(stuck, reason, opts.logLines);
        }
        const why = upRun.code === null ? `did not finish within ${Math.round(timeoutMs / 1000)} s` : 'failed';
        throw new EnvironmentError(`docker compose up ${why} for project ${this.target.project}:\n${redact(upRun.stderr.trim().split('\n').slice(-15).join('\n'))}`);
      }
      const now = pending.join(', ');
      if (now && now !== lastPending) opts.onProgress?.(`waiting for: ${now}`);
      lastPending = now;
      return undefined;
    };
    try {
      // Every error of the check is final (a failed service, compose gave up); only time is waited out.
      return await poll(`services of ${this.target.project}`, check, { timeoutMs: timeoutMs - (this.clock.now() - start), intervalMs: opts.pollMs ?? 1000, clock: this.clock, retry: () => false });
    } catch (err) {
      if (!(err instanceof PollError)) throw err;
      const service = pending[0] ?? expected[0]!;
      throw await this.failure(service, `is not healthy after ${Math.round(timeoutMs / 1000)} s (${describeState(states.find((s) => s.service === service))})`, opts.logLines);
    } finally {
      if (!upRun) abort.abort(); // stop compose's own wait; the containers stay for `down`
      await upDone;
    }
  }

  /** An error naming the service, why, and its last log lines (redacted). */
  private async failure(service: string, reason: string, lines = 30): Promise<EnvironmentError> {
    const logs = await this.run(logsArgv(this.target, { services: [service], tail: lines }), { ...this.execOpts, nothrow: true });
    const text = redact(stripAnsi(`${logs.stdout}${logs.stderr}`).trimEnd()) || '(no output)';
    return new EnvironmentError(
      `service "${service}" of ${this.target.project} ${reason}\n--- last ${lines} log lines of ${service} ---\n${text}`,
      `inspect with: pier env logs <env> ${service}; clean up with: pier env down <env>`,
    );
  }

  /** Remove containers and networks; named volumes only with `volumes: true`. */
  async down(opts: { volumes?: boolean; onProgress?: (line: string) => void } = {}): Promise<void> {
    const onOutput = opts.onProgress && ((chunk: string) => chunk.split('\n').filter((l) => l.trim()).forEach((l) => opts.onProgress!(l.trim())));
    await this.run(downArgv(this.target, { volumes: opts.volumes }), { ...this.execOpts, onOutput });
  }

  /** Stream (or print) logs through redaction; `follow` runs until the signal aborts. */
  async logs(o: LogsOptions & { write: (text: string) => void; signal?: AbortSignal }): Promise<number | null> {
    // Redacted across chunk boundaries (issue 14, defect 3): per stream, whole lines at a time.
    const out = { stdout: new StreamRedactor((t) => o.write(stripAnsi(t))), stderr: new StreamRedactor((t) => o.write(stripAnsi(t))) };
    const r = await this.run(logsArgv(this.target, o), { ...this.execOpts, nothrow: true, signal: o.signal, onOutput: (chunk, stream) => out[stream].write(chunk) });
    out.stdout.end();
    out.stderr.end();
    return r.code;
  }

  /** `127.0.0.1:PORT` a service's container port is published on. */
  async port(service: string, containerPort: number): Promise<string> {
    const r = await this.run(portArgv(this.target, service, containerPort), this.execOpts);
    const addr = r.stdout.trim().split('\n')[0] ?? '';
    if (!/:\d+$/.test(addr)) throw new EnvironmentError(`${service}:${containerPort} of ${this.target.project} is not published (got "${addr}")`);
    return addr;
  }

  /** Any other compose subcommand over the same files (exec, images...). */
  compose(sub: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return this.run(composeArgv(this.target, ...sub), { ...this.execOpts, ...opts });
  }
}

/** Terminal control sequences compose emits even with --ansi never (e.g. erase-line before log lines). */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/**
 * The service compose blames when `up` fails on a dependency ("dependency failed to start:
 * container p-app-1 is unhealthy" / "... exited (2)"), mapped from container to service name.
 */
export function composeCulprit(stderr: string, states: ServiceState[]): string | undefined {
  const m = /container (\S+) (?:is unhealthy|exited)/.exec(stripAnsi(stderr));
  return m ? states.find((s) => s.container === m[1])?.service : undefined;
}

function lastLine(text: string): string {
  return redact(stripAnsi(text).trim().split('\n').filter(Boolean).slice(-1)[0] ?? '');
}

/** Redacted, trimmed, non-empty lines of a chunked stream for a progress callback. */
function progressLines(onLine: (line: string) => void): StreamRedactor {
  return new StreamRedactor((text) => text.split('\n').filter((l) => l.trim()).forEach((l) => onLine(l.trim())));
}
