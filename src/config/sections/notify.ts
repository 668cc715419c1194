import { z } from 'zod';

export const NOTIFY_EVENTS = ['deploy.started', 'deploy.succeeded', 'deploy.failed', 'rollback.triggered', 'rollback.done', 'guard.fired', 'backup.failed'] as const;

export const Notify = z
  .strictObject({
    name: z.string().min(1).optional().describe('Name shown in warnings (default: #<position> (<format>)); never the URL'),
    url: z.string().url().optional().describe('Webhook URL (a secret: a Slack webhook URL is its own credential; prefer urlEnv or ${VAR} interpolation)'),
    urlEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name (letters, digits, _)').optional().describe('Environment variable holding the webhook URL, read at send time'),
    format: z.enum(['json', 'slack']).default('json').describe('json: the event as JSON; slack: an incoming-webhook message'),
    events: z.array(z.enum(NOTIFY_EVENTS)).min(1).default([...NOTIFY_EVENTS]).describe('Events this receiver gets (default: all)'),
    timeoutSeconds: z.number().positive().max(60).default(5).describe('Per post; one retry; pier never waits longer than this for the receiver at the end of a command'),
  })
  .refine((n) => Boolean(n.url) !== Boolean(n.urlEnv), { message: 'set exactly one of url or urlEnv' })
  .describe('A webhook told about deploys, rollbacks, guard verdicts and failed backups');
export type NotifySettings = z.infer<typeof Notify>;
