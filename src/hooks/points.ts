/**
 * The hooks wired to the deploy-family verbs' hook points (deploy: beforeChanges / beforeUnlock;
 * rollback: beforeSwitch / beforeUnlock; pipeline: before the build stage). Output lines go to
 * stderr prefixed with the hook's name; every result is kept for the run report.
 */
import type { Config } from '../config/schema.ts';
import type { HookName, HooksConfig } from '../config/sections/hooks.ts';
import type { DeployOptions, DeployReport } from '../deploy/deploy.ts';
import type { RollbackOptions, RollbackReport } from '../deploy/rollback.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { digestOf } from '../util/image-ref.ts';
import { postHookWarning, resolveHooks, runHook, runPreHook, type HookFacts, type HookResult } from './hooks.ts';

/** Results of the hooks that ran, in order, and the post-hook failures as one line each. */
export interface HookLog {
  results: HookResult[];
  warnings: string[];
}

const printer = (hook: HookName) => (line: string) => console.error(`  [${hook}] ${line}`);

function baseFacts(target: DeployTarget, command: string, runId: string): HookFacts {
  return { app: target.app, env: target.envName, hosts: target.hosts.map((h) => h.name), performer: target.by, run: runId, command, strategy: target.settings.strategy };
}

/** deploy()'s hook points running preDeploy and postDeploy. */
export function deployHookPoints(target: DeployTarget, runId: string, log: HookLog): Pick<DeployOptions, 'beforeChanges' | 'beforeUnlock'> {
  const hooks = resolveHooks(target.config ?? {});
  const cwd = target.root;
  const facts = baseFacts(target, 'deploy', runId);
  let pre: HookFacts = facts;
  return {
    beforeChanges: hooks.preDeploy.length
      ? async (c) => {
          pre = { ...facts, version: c.version, digest: digestOf(c.image), previous: c.previous.find(Boolean) };
          await preHook('preDeploy', hooks, pre, cwd, log);
        }
      : undefined,
    beforeUnlock: hooks.postDeploy.length
      ? async (report: DeployReport) => {
          const outcome = report.ok ? (report.hosts.every((h) => h.status === 'unchanged') ? 'unchanged' : 'succeeded') : report.hosts.some((h) => h.status === 'rolled-back') ? 'rolled-back' : 'failed';
          const f: HookFacts = { ...pre, version: report.version, digest: digestOf(report.image) ?? pre.digest, outcome, ...(report.error ? { error: report.error } : {}) };
          await post('postDeploy', hooks, f, cwd, log);
        }
      : undefined,
  };
}

/** rollback()'s hook points running preRollback and postRollback. */
export function rollbackHookPoints(target: DeployTarget, log: HookLog): Pick<RollbackOptions, 'beforeSwitch' | 'beforeUnlock'> {
  const hooks = resolveHooks(target.config ?? {});
  const cwd = target.root;
  const facts = baseFacts(target, 'rollback', '');
  let pre: HookFacts = facts;
  return {
    beforeSwitch: hooks.preRollback.length
      ? async (c) => {
          pre = { ...facts, run: c.run, version: c.version, previous: c.from.find(Boolean) };
          await preHook('preRollback', hooks, pre, cwd, log);
        }
      : undefined,
    beforeUnlock: hooks.postRollback.length
      ? async (report: RollbackReport) => {
          await post('postRollback', hooks, { ...pre, run: report.run, version: report.version, outcome: report.ok ? 'succeeded' : 'failed' }, cwd, log);
        }
      : undefined,
  };
}

/** A pre hook: its results logged, the failing one too, before its error aborts the command. */
async function preHook(hook: 'preDeploy' | 'preRollback', hooks: HooksConfig, facts: HookFacts, cwd: string, log: HookLog): Promise<void> {
  console.error(`${hook}: ${hooks[hook].length} command(s)`);
  try {
    log.results.push(...(await runPreHook(hook, hooks[hook], facts, { cwd, onLine: printer(hook) })));
  } catch (e) {
    const r = (e as { result?: HookResult }).result;
    if (r) log.results.push(r);
    throw e;
  }
}

async function post(hook: 'postDeploy' | 'postRollback', hooks: HooksConfig, facts: HookFacts, cwd: string, log: HookLog): Promise<void> {
  console.error(`${hook}: ${hooks[hook].length} command(s) (PIER_OUTCOME=${facts.outcome})`);
  const results = await runHook(hook, hooks[hook], facts, { cwd, onLine: printer(hook) });
  log.results.push(...results);
  for (const r of results) if (!r.ok) log.warnings.push(postHookWarning(r));
}

/** The preBuild hook before a pipeline that builds (pier ci / pier build); throws when it fails. */
export async function runPreBuild(config: Config, runId: string): Promise<HookResult[]> {
  const hooks = resolveHooks({ hooks: config.hooks });
  if (!hooks.preBuild.length) return [];
  console.error(`preBuild: ${hooks.preBuild.length} command(s)`);
  return runPreHook('preBuild', hooks.preBuild, { app: config.app.name, run: runId, command: 'build', version: config.app.version }, { cwd: config.root, onLine: printer('preBuild') });
}
