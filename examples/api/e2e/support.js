// Shared by the end-to-end suites: the environment under test is BASE_URL (pier sets it to the
// environment's url for `checks:` and `smoke:`); every request is bounded in time.
export const base = (process.env.BASE_URL ?? '').replace(/\/$/, '');
if (!base) throw new Error('BASE_URL is not set: run these suites through pier checks <env>, or set it by hand');

/** @param {string} path @param {RequestInit} [init] */
export async function call(path, init = {}) {
  const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000), headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers };
}
