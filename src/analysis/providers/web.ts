/**
 * Web check: HTTP GET a URL, take the value at a JSON path (`$.a.b[0].c`, `$` the whole body) as
 * `result` (true/false count as 1/0, numeric strings as numbers), and the HTTP status as `status`.
 */
import type { Values } from '../condition.ts';
import { getJson } from './http-json.ts';
import type { Provider } from './types.ts';

/** Steps of a JSON path (pure); throws naming the problem. */
export function parseJsonPath(path: string): (string | number)[] {
  if (!path.startsWith('$')) throw new Error(`JSON path "${path}" must start with $`);
  const steps: (string | number)[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  let i = 1;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (!m) throw new Error(`JSON path "${path}": cannot read from column ${i + 1} (use .name, [0] or ['name'])`);
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] ?? m[4])!));
    i = re.lastIndex;
  }
  return steps;
}

/** The number at `path` in `body` (pure); throws saying what was there instead. */
export function valueAt(body: unknown, path: string): number {
  let cur: unknown = body;
  for (const s of parseJsonPath(path)) {
    if (cur === null || typeof cur !== 'object' || !(s in (cur as object))) throw new Error(`JSON path ${path}: nothing at ${typeof s === 'number' ? `[${s}]` : `.${s}`}`);
    cur = (cur as Record<string | number, unknown>)[s];
  }
  if (typeof cur === 'boolean') return cur ? 1 : 0;
  if (typeof cur === 'number' && Number.isFinite(cur)) return cur;
  if (typeof cur === 'string' && cur.trim() !== '' && Number.isFinite(Number(cur))) return Number(cur);
  throw new Error(`JSON path ${path}: ${JSON.stringify(cur)?.slice(0, 80)} is not a number or boolean`);
}

export function webProvider(o: { url: string; jsonPath: string; headers: Record<string, string>; timeoutSeconds: number }): Provider {
  parseJsonPath(o.jsonPath);
  return {
    key: `web:${o.url}:${o.jsonPath}`,
    label: `GET ${o.url} ${o.jsonPath}`,
    async measure(signal): Promise<Values> {
      const r = await getJson(o.url, o.timeoutSeconds * 1000, o.headers, signal);
      return { result: valueAt(r.body, o.jsonPath), status: r.status };
    },
  };
}
