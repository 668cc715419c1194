/**
 * Prometheus: an instant query (`GET <address>/api/v1/query?query=...`) whose single scalar or
 * one-sample vector is the measurement's `result`.
 */
import type { Values } from '../condition.ts';
import { getJson } from './http-json.ts';
import type { Provider } from './types.ts';

/** `result` from a Prometheus API answer (pure); throws saying what the answer held instead. */
export function prometheusValue(body: unknown): number {
  const b = body as { status?: string; error?: string; data?: { resultType?: string; result?: unknown } } | null;
  if (!b || b.status !== 'success') throw new Error(`query failed: ${b?.error ?? JSON.stringify(body).slice(0, 200)}`);
  const { resultType, result } = b.data ?? {};
  let raw: unknown;
  if (resultType === 'scalar') raw = (result as [number, string])[1];
  else if (resultType === 'vector') {
    const r = result as { value: [number, string] }[];
    if (r.length === 0) throw new Error('the query returned no samples');
    if (r.length > 1) throw new Error(`the query returned ${r.length} series; aggregate it to one (e.g. sum(...))`);
    raw = r[0]!.value[1];
  } else throw new Error(`expected a scalar or a one-sample vector, got ${resultType}`);
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`the query returned ${String(raw)}`);
  return v;
}

export function prometheusProvider(o: { address: string; query: string; timeoutSeconds: number }): Provider {
  const url = `${o.address.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(o.query)}`;
  return {
    key: `prometheus:${o.address}:${o.query}`,
    label: `prometheus ${o.address}: ${o.query}`,
    async measure(signal): Promise<Values> {
      return { result: prometheusValue((await getJson(url, o.timeoutSeconds * 1000, {}, signal, true)).body) };
    },
  };
}
