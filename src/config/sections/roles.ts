import { z } from 'zod';
import { Command } from './app.ts';

const VarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name (letters, digits, _)');
const HostNames = z.array(z.string().min(1)).min(1);
export const ROLE_NAME = /^[a-z][a-z0-9-]*$/;

/**
 * One role of the app: a release container of the deployed version with its own command. `web`
 * sits behind the proxy and is health-gated over HTTP (app.health); any other role (worker,
 * scheduler) has no proxy and is checked by a command run inside its container.
 */
export const Role = z
  .strictObject({
    hosts: HostNames.optional().describe('Names from hosts this role runs on (default: every host)'),
    command: Command.optional().describe("argv run instead of the image's CMD (e.g. [node, src/worker.js])"),
    env: z.record(VarName, z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}).describe('Variables added to the env file for this role only (they win over it)'),
    stopSignal: z.string().regex(/^SIG[A-Z0-9]+$/, 'a signal name such as SIGTERM').default('SIGTERM').describe('Signal a replaced container gets first (not web: the proxy drains web)'),
    drainSeconds: z.number().int().nonnegative().default(30).describe('How long a replaced container may take to finish its work after the stop signal before it is killed (not web)'),
    health: z
      .strictObject({
        command: Command.describe('argv run inside the container (docker exec); exit 0 = healthy'),
        timeoutSeconds: z.number().positive().default(60).describe('The role fails the deploy when the command has not passed by then'),
        intervalSeconds: z.number().positive().default(1),
      })
      .optional()
      .describe('Health check by command (not web: web uses app.health over HTTP). Without it, a role is healthy once its container has kept running for 2 s'),
  })
  .describe('A role: web (behind the proxy) or a worker/scheduler (own command, no proxy)');

export const Roles = z
  .record(z.string().regex(ROLE_NAME, 'a role name (lowercase letters, digits, -)'), Role)
  .superRefine((roles, ctx) => {
    const web = roles.web;
    if (web?.health) ctx.addIssue({ code: 'custom', path: ['web', 'health'], message: 'web is health-checked over HTTP (app.health); a health command is for other roles' });
  })
  .describe('Roles of the app (default: only web on every host). One pier deploy moves every role to the same release: web first, then the others (roleOrder)');

export const RoleOrder = z
  .array(z.string().regex(ROLE_NAME))
  .min(1)
  .refine((a) => new Set(a).size === a.length, 'each role once')
  .describe('Order in which a deploy moves the roles (default: web, then the others in the order written)');

/** An accessory: a service (database, cache) pier runs on one named host beside the app, never restarted by a deploy. */
export const Accessory = z
  .strictObject({
    host: z.string().min(1).describe('Name of the host in hosts it runs on'),
    image: z.string().min(1).describe('Image reference, e.g. postgres:16'),
    port: z.number().int().min(1).max(65535).optional().describe('Port the service listens on, published on the host at bind:port'),
    bind: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'an IPv4 address (the host\'s private address, or 127.0.0.1)').default('127.0.0.1').describe("Host address the port is bound to: the host's private address, or 127.0.0.1 (default); 0.0.0.0 only when written here"),
    volumes: z.array(z.string().regex(/^[^:]+:\/[^:]*(:ro)?$/, 'name:/path or /host/path:/path (optionally :ro)')).default([]).describe('name:/path (a named volume <app>-<name>) or /host/path:/path'),
    env: z.record(VarName, z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}).describe('Environment of the container (written to a 0600 env file on the host, never on a command line)'),
    command: Command.optional().describe("argv instead of the image's CMD"),
    health: z
      .strictObject({
        command: Command.describe('argv run inside the container (docker exec); exit 0 = ready'),
        timeoutSeconds: z.number().positive().default(60),
      })
      .optional(),
  })
  .describe('A service pier boots on a host (pier accessory boot|reboot|stop|logs|status); pier deploy never touches it');

export const Accessories = z.record(z.string().regex(ROLE_NAME, 'an accessory name (lowercase letters, digits, -)'), Accessory).describe('Services (PostgreSQL, Redis...) run by pier on named hosts');
