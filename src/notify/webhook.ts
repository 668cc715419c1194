/**
 * Posting one JSON body to a webhook: bounded by a timeout, one retry on a network error or a 5xx,
 * and errors that never contain the URL (it is a secret: a Slack webhook URL is its credential).
 */
import { sleep } from '../util/poll.ts';

export interface PostResult {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

export interface PostOptions {
  timeoutMs: number;
  /** Attempts in all (default 2: one retry). */
  attempts?: number;
  retryDelayMs?: number;
  /** Stops waiting (the caller's overall budget ran out). */
  signal?: AbortSignal;
}

export async function postJson(url: string, body: unknown, o: PostOptions): Promise<PostResult> {
  const attempts = o.attempts ?? 2;
  let last: PostResult = { ok: false, attempts: 0 };
  for (let i = 1; i <= attempts; i++) {
    if (o.signal?.aborted) break;
    const signals = [AbortSignal.timeout(o.timeoutMs), ...(o.signal ? [o.signal] : [])];
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.any(signals) });
      await res.body?.cancel().catch(() => undefined);
      last = { ok: res.ok, attempts: i, status: res.status, ...(res.ok ? {} : { error: `HTTP ${res.status}` }) };
      if (res.ok || res.status < 500) return last;
    } catch (e) {
      const err = e as Error;
      const why = err.name === 'TimeoutError' || err.name === 'AbortError' ? `no answer in ${o.timeoutMs} ms` : (err.cause as Error | undefined)?.message ?? err.message;
      // undici's messages do not carry the URL, but a cause might: keep only its first words.
      last = { ok: false, attempts: i, error: why.replace(/https?:\/\/\S+/g, '(url)') };
    }
    if (i < attempts) await sleep(o.retryDelayMs ?? 300, o.signal);
  }
  return last;
}
