/** GET a URL and parse its JSON body, bounded in time (the web and Prometheus providers). */

export async function getJson(url: string, timeoutMs: number, headers: Record<string, string>, signal?: AbortSignal, anyStatus = false): Promise<{ status: number; body: unknown }> {
  const sig = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: sig });
  } catch (e) {
    const err = e as Error & { cause?: Error };
    throw new Error(`GET ${url}: ${err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000}s` : (err.cause?.message ?? err.message)}`);
  }
  const text = await res.text();
  if (!anyStatus && (res.status < 200 || res.status >= 300)) throw new Error(`GET ${url}: HTTP ${res.status}`);
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`GET ${url}: HTTP ${res.status}, not JSON: ${text.slice(0, 120)}`);
  }
}
