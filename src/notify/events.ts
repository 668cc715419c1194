/**
 * Notification events and the bodies pier posts for them (pure): a generic JSON body and a Slack
 * incoming-webhook body. Every text field goes through the redactor; the receiver's URL is never
 * part of a body.
 */
import { redact } from '../util/redact.ts';

import { NOTIFY_EVENTS } from '../config/sections/notify.ts';

export { NOTIFY_EVENTS };
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

export interface NotifyEvent {
  event: NotifyEventName;
  env: string;
  app: string;
  /** Release deployed, rolled back to, or guarded. */
  version?: string;
  /** Image digest (`sha256:...`) when known. */
  digest?: string;
  /** Who ran pier (deploy.by). */
  by: string;
  run: string;
  /** ISO time the event happened. */
  at: string;
  /** Seconds the operation took, for the events that end one. */
  durationSeconds?: number;
  hosts: string[];
  /** Why: the failure, the rule that fired, "by hand". */
  reason?: string;
}

export type NotifyFormat = 'json' | 'slack';

const TITLES: Record<NotifyEventName, string> = {
  'deploy.started': 'deploy started',
  'deploy.succeeded': 'deploy succeeded',
  'deploy.failed': 'deploy FAILED',
  'rollback.triggered': 'rollback triggered',
  'rollback.done': 'rollback done',
  'guard.fired': 'guard fired',
  'backup.failed': 'backup FAILED',
};

const BAD: ReadonlySet<NotifyEventName> = new Set(['deploy.failed', 'rollback.triggered', 'guard.fired', 'backup.failed']);

/** The event with every free text redacted (a reason may quote a log line). */
function redacted(e: NotifyEvent): NotifyEvent {
  return { ...e, ...(e.reason !== undefined ? { reason: redact(e.reason) } : {}) };
}

/** One line for people: `pier: api production: deploy succeeded 1.2.0-abc1234 (3 hosts, 14.2s) by ci@runner`. */
export function summaryLine(e: NotifyEvent): string {
  const r = redacted(e);
  const parts = [`pier: ${r.app} ${r.env}: ${TITLES[r.event]}`];
  if (r.version) parts.push(r.version);
  const detail = [`${r.hosts.length} host${r.hosts.length === 1 ? '' : 's'}`, ...(r.durationSeconds !== undefined ? [`${r.durationSeconds.toFixed(1)}s`] : [])];
  parts.push(`(${detail.join(', ')})`, `by ${r.by}`);
  return `${parts.join(' ')}${r.reason ? `: ${r.reason}` : ''}`;
}

/** The body posted to a receiver of `format` (pure). */
export function messageBody(e: NotifyEvent, format: NotifyFormat): Record<string, unknown> {
  const r = redacted(e);
  if (format === 'json') return { ...r };
  const fields = [
    ['Environment', r.env],
    ['Version', r.version],
    ['Digest', r.digest],
    ['By', r.by],
    ['Duration', r.durationSeconds !== undefined ? `${r.durationSeconds.toFixed(1)}s` : undefined],
    ['Hosts', r.hosts.join(', ')],
    ['Reason', r.reason],
    ['Run', r.run],
  ].filter((f): f is [string, string] => Boolean(f[1]));
  return {
    text: summaryLine(r),
    attachments: [{ color: BAD.has(r.event) ? 'danger' : 'good', fields: fields.map(([title, value]) => ({ title, value, short: value.length < 40 })), ts: Math.floor(Date.parse(r.at) / 1000) }],
  };
}
