/**
 * fetch for tests, always bounded: without a signal a request to a port that accepts and never
 * answers (a published port whose container is still starting) waits for undici's 300 s header
 * timeout, longer than any hook.
 */
export function get(url: string, init: RequestInit = {}, timeoutMs = 5_000): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/** The status of a GET, or undefined when nothing answered in time (for polls). */
export function statusOf(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  return get(url, {}, timeoutMs).then(
    async (r) => {
      await r.body?.cancel();
      return r.status;
    },
    () => undefined,
  );
}
