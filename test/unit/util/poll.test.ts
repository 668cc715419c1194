import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { notYet, poll, PollError, sleep, type Clock } from '../../../src/util/poll.ts';
import { quoteWord, toCommandLine } from '../../../src/util/shell.ts';

/** A clock that only moves when the poll sleeps: waits are tested without waiting. */
function fakeClock(): Clock & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return { slept, now: () => t, sleep: async (ms) => void (slept.push(ms), (t += ms)) };
}

describe('poll', () => {
  it('returns the first value that is not undefined / notYet, pacing attempts by the interval', async () => {
    const clock = fakeClock();
    const v = await poll('x', (n) => (n < 3 ? undefined : `ok ${n}`), { timeoutMs: 10_000, intervalMs: 100, clock });
    expect(v).toBe('ok 3');
    expect(clock.slept).toEqual([100, 100]);
  });

  it('an interval function is asked before each pause (an attempt lands on a point of the caller\'s)', async () => {
    const clock = fakeClock();
    const seen: number[] = [];
    const v = await poll('window', () => (seen.push(clock.now()), clock.now() >= 2500 ? 'done' : undefined), { timeoutMs: 10_000, intervalMs: () => Math.min(1000, 2500 - clock.now()), clock });
    expect(v).toBe('done');
    expect(seen).toEqual([0, 1000, 2000, 2500]);
    expect(clock.slept).toEqual([1000, 1000, 500]);
  });

  it('gives up at the deadline, naming what, how long, the attempts and the last detail', async () => {
    const clock = fakeClock();
    const err = await poll('registry on 127.0.0.1:5000', () => notYet('HTTP 503'), { timeoutMs: 1000, intervalMs: 300, clock }).catch((e) => e);
    expect(err).toBeInstanceOf(PollError);
    expect(err.reason).toBe('timeout');
    expect(err.message).toBe('registry on 127.0.0.1:5000: not ready after 1 s (5 attempts); last: HTTP 503');
    // Never sleeps past the deadline.
    expect(clock.slept).toEqual([300, 300, 300, 100]);
  });

  it('keeps the last error of a throwing check in the message and on the error', async () => {
    const boom = new Error('ECONNREFUSED 127.0.0.1:9');
    const err = await poll('app', () => Promise.reject(boom), { timeoutMs: 500, intervalMs: 250, clock: fakeClock() }).catch((e) => e);
    expect(err.message).toMatch(/app: not ready after 0.5 s \(3 attempts\); last: ECONNREFUSED 127.0.0.1:9$/);
    expect(err.lastError).toBe(boom);
  });

  it('rethrows at once an error that `retry` refuses', async () => {
    let calls = 0;
    const fatal = new Error('sidecar exited with 1');
    const p = poll('sidecar', () => { calls++; throw fatal; }, { timeoutMs: 10_000, retry: () => false, clock: fakeClock() });
    await expect(p).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  it('is bounded by maxAttempts as well, and onGiveUp turns the error into the caller\'s own', async () => {
    const err = await poll('db', () => undefined, { timeoutMs: 60_000, maxAttempts: 2, clock: fakeClock(), onGiveUp: (e) => new RangeError(`wrapped: ${e.message}`) }).catch((e) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('wrapped: db: not ready after 0.3 s (2 attempts)');
  });

  it('stops when the signal aborts, without waiting out the interval', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 50);
    const err = await poll('never', () => undefined, { timeoutMs: 30_000, intervalMs: 10_000, signal: ac.signal }).catch((e) => e);
    expect(err.reason).toBe('aborted');
    expect(err.message).toBe('never: aborted while waiting');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('always makes one attempt, even with no time', async () => {
    expect(await poll('now', () => 1, { timeoutMs: 0 })).toBe(1);
  });

  it('sleep resolves early on abort and never rejects', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    await expect(p).resolves.toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('shell quoting (src/util/shell.ts)', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(toCommandLine(['docker', 'run', '--name', 'app-v1', 'reg:5000/app@sha256:ab'])).toBe('docker run --name app-v1 reg:5000/app@sha256:ab');
    expect(quoteWord('')).toBe("''");
    expect(quoteWord("it's $HOME; rm -rf /")).toBe(`'it'\\''s $HOME; rm -rf /'`);
    expect(() => toCommandLine([])).toThrow(/empty argv/);
  });

  it('a real sh reads every word back unchanged', () => {
    const words = ["it's", '$HOME', 'a b', '`id`', '"q"', '', 'x;y', '\\n', '*', 'ok,comma'];
    const out = execFileSync('sh', ['-c', `for a in ${toCommandLine(words)}; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });
});
