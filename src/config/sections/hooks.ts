import { z } from 'zod';
import { Command } from './app.ts';

/** One hook command: argv run on the deploying machine (no shell) with PIER_* variables. */
const HookObject = z.strictObject({
  command: Command.describe('argv run on the deploying machine from the repository root (no shell)'),
  timeoutSeconds: z.number().positive().max(3600).default(60).describe('The command is killed (and counts as failed) after this long'),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name (letters, digits, _)'), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}).describe('Extra environment for the command'),
});

/**
 * One hook command: an argv list ([./scripts/notify.sh, deployed]) or { command, timeoutSeconds,
 * env }. The short form is turned into the long one before validation, so a bad command is reported
 * at its own key (hooks.preDeploy[0].command) rather than as "invalid input" of a union.
 */
export const HookCommand = z
  .preprocess((v) => (Array.isArray(v) || typeof v === 'string' ? { command: v } : v), HookObject)
  .describe('An argv list ([./scripts/notify.sh, deployed]) or { command, timeoutSeconds (default 60), env }');

const list = (what: string) => z.array(HookCommand).default([]).describe(what);

/** Every hook point; `preBuild` only in pier.yaml (a build belongs to no environment). */
const hookFields = {
  preDeploy: list('Before pier deploy changes anything on a host (under the lock, image on every host, before the env file and certificate uploads, migrations and any container start); a failure aborts the deploy'),
  postDeploy: list('After pier deploy (succeeded or rolled back: PIER_OUTCOME), still under the lock; a failure is reported, the deploy stands'),
  preRollback: list('Before pier rollback switches any host (under the lock, target release known); a failure aborts the rollback'),
  postRollback: list('After pier rollback (PIER_OUTCOME), still under the lock'),
};

export const EnvironmentHooks = z
  .strictObject(Object.fromEntries(Object.entries(hookFields).map(([k, v]) => [k, v.unwrap().optional().describe(v.description ?? '')])) as { [K in keyof typeof hookFields]: z.ZodOptional<z.ZodArray<typeof HookCommand>> })
  .describe('Commands run on the deploying machine around deploys and rollbacks; per hook, a list here (even []) replaces the one in pier.yaml');

export const Hooks = z
  .strictObject({
    preBuild: list('Before the build stage of pier ci / pier build; a failure fails the build'),
    ...hookFields,
  })
  .describe('Commands run on the deploying machine around builds, deploys and rollbacks (each an argv list or { command, timeoutSeconds, env }); environments/<env>.yaml may replace any list but preBuild');

export type HookName = keyof z.output<typeof Hooks>;
export type HookSpec = z.output<typeof HookCommand>;
export type HooksConfig = z.output<typeof Hooks>;
