/** Deploy progress: one line per host step as it happens (details redacted), and a timeline at the end. */
import { redact } from '../util/redact.ts';

export type Phase =
  | 'preflight' | 'locked' | 'pulling' | 'pulled' | 'migrating' | 'starting' | 'healthy' | 'switched' | 'baking' | 'baked' | 'drained'
  | 'unhealthy' | 'failed' | 'rolling-back' | 'rolled-back' | 'interrupted' | 'unchanged'
  | 'canary' | 'analysis' | 'retiring' | 'backup' | 'rollback-plan' | 'reconciled' | 'pruned';

export interface ProgressEvent {
  host: string;
  phase: Phase;
  /** Seconds since the deploy started. */
  t: number;
  detail?: string;
}

export class Progress {
  readonly events: ProgressEvent[] = [];
  private readonly started = Date.now();
  private readonly listeners: ((e: ProgressEvent) => void)[] = [];

  constructor(private readonly print: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  /** Record and print one step of one host. */
  step(host: string, phase: Phase, detail?: string): void {
    const e: ProgressEvent = { host, phase, t: (Date.now() - this.started) / 1000, ...(detail ? { detail: redact(detail) } : {}) };
    this.events.push(e);
    this.print(formatEvent(e));
    for (const l of this.listeners) l(e);
  }

  /** Be told of every step as it happens (notifications); a listener must not throw. */
  subscribe(listener: (e: ProgressEvent) => void): void {
    this.listeners.push(listener);
  }

  /** When the deploy started (ms since the epoch): the time axis of the timeline. */
  get startedAt(): number {
    return this.started;
  }

  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }
}

export function formatEvent(e: ProgressEvent): string {
  return `  ${e.host.padEnd(10)} ${e.phase.padEnd(12)} +${e.t.toFixed(1)}s${e.detail ? `  ${e.detail}` : ''}`;
}

/** The final timeline: per host, each phase and when it happened. */
export function renderTimeline(events: readonly ProgressEvent[]): string {
  const hosts = [...new Set(events.map((e) => e.host))];
  return hosts
    .map((h) => `  ${h.padEnd(10)} ${events.filter((e) => e.host === h).map((e) => `${e.phase}@${e.t.toFixed(1)}s`).join(' → ')}`)
    .join('\n');
}
