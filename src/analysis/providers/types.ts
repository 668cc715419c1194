/** Where a metric's numbers come from. One instance may serve several metrics (measured once per tick). */
import type { Values } from '../condition.ts';

export interface Provider {
  /** Identity for sharing: metrics whose providers have the same key are measured together. */
  readonly key: string;
  /** For messages: `access logs of 3 hosts`, `prometheus http://...`. */
  readonly label: string;
  /** Take one measurement at clock time `at` (the tick); throw when nothing could be measured (a provider error). */
  measure(signal?: AbortSignal, at?: number): Promise<Values>;
}
