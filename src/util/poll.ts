/**
 * The one wait loop: call a check until it yields a value, bounded by a deadline (and optionally an
 * attempt count), paced by an interval, stopped by an abort signal. When it gives up, the error
 * says what was awaited, for how long, and the last thing seen (the check's last error or the last
 * "not yet" detail), because "timed out" alone sends the reader to the logs.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Time source, injectable so waits can be tested without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The one sleep: resolves after `ms`, or at once when `signal` aborts (never rejects: the caller
 * checks the signal). On node:timers/promises, looked up at each call, so the deploy simulator's
 * virtual clock (test/sim/clock.ts, which replaces that builtin) drives every wait built on it.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(Math.max(0, ms), undefined, { signal }).then(
    () => undefined,
    () => undefined,
  );
}

export const realClock: Clock = { now: () => Date.now(), sleep };

const PENDING = Symbol('pier.poll.pending');
/** What a check returns when it is not there yet but can say why (shown if the wait gives up). */
export interface Pending {
  readonly [PENDING]: string;
}
export const notYet = (detail: string): Pending => ({ [PENDING]: detail });
const isPending = (v: unknown): v is Pending => typeof v === 'object' && v !== null && PENDING in v;

export type GiveUpReason = 'timeout' | 'attempts' | 'aborted';

/** A wait that gave up; `message` names what, how long, and the last thing seen. */
export class PollError extends Error {
  constructor(
    readonly what: string,
    readonly reason: GiveUpReason,
    readonly attempts: number,
    readonly elapsedMs: number,
    /** The check's last error (if its last attempt threw) or its last `notYet` detail. */
    readonly last: string | undefined,
    readonly lastError: unknown,
  ) {
    const how = reason === 'aborted' ? 'aborted while waiting' : `not ready after ${formatSeconds(elapsedMs)} (${attempts} attempt${attempts === 1 ? '' : 's'})`;
    super(`${what}: ${how}${last ? `; last: ${last}` : ''}`);
    this.name = 'PollError';
  }
}

const formatSeconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

export interface PollOptions {
  /** Give up after this long (required: every wait is bounded). */
  timeoutMs: number;
  /**
   * Pause between attempts (default 250 ms; never past the deadline). A function is asked before
   * each pause, so a caller can land an attempt exactly on a point in time of its own (the end of
   * an observation window).
   */
  intervalMs?: number | (() => number);
  /** Give up after this many attempts as well. */
  maxAttempts?: number;
  signal?: AbortSignal;
  /** An error thrown by the check is retried when this says so (default: every error). */
  retry?: (err: unknown) => boolean;
  /** Turn the give-up into the caller's own error (e.g. an EnvironmentError with advice). */
  onGiveUp?: (e: PollError) => Error;
  clock?: Clock;
}

/**
 * Call `check` until it returns something other than `undefined` or a `notYet(...)`, and return
 * that. At least one attempt is always made.
 */
export async function poll<T>(what: string, check: (attempt: number) => Promise<T | Pending | undefined> | T | Pending | undefined, opts: PollOptions): Promise<T> {
  const clock = opts.clock ?? realClock;
  const interval = opts.intervalMs ?? 250;
  const pause = typeof interval === 'function' ? interval : () => interval;
  const start = clock.now();
  const deadline = start + opts.timeoutMs;
  let last: string | undefined;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) throw giveUp('aborted', attempt - 1);
    try {
      const v = await check(attempt);
      lastError = undefined;
      if (isPending(v)) last = v[PENDING];
      else if (v !== undefined) return v as T;
      else last = undefined;
    } catch (err) {
      if (opts.retry && !opts.retry(err)) throw err;
      lastError = err;
      last = err instanceof Error ? err.message : String(err);
    }
    if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) throw giveUp('attempts', attempt);
    const left = deadline - clock.now();
    if (left <= 0) throw giveUp('timeout', attempt);
    await clock.sleep(Math.max(0, Math.min(pause(), left)), opts.signal);
  }

  function giveUp(reason: GiveUpReason, attempts: number): Error {
    const e = new PollError(what, reason, attempts, clock.now() - start, last, lastError);
    return opts.onGiveUp ? opts.onGiveUp(e) : e;
  }
}
