/**
 * Hooks: argv commands the user configures (`hooks:` in pier.yaml, per-hook lists replaced by
 * environments/<env>.yaml) run on the deploying machine at fixed points of a build, deploy or
 * rollback, with PIER_* variables describing the run. A failing pre-hook stops the operation before
 * it changes a host; a failing post-hook is reported and changes nothing already done.
 */
import type { Config } from '../config/schema.ts';
import type { HookName, HookSpec, HooksConfig } from '../config/sections/hooks.ts';
import { exec } from '../util/exec.ts';
import { GateError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import { toCommandLine } from '../util/shell.ts';

/** What a hook is told about the run (each becomes a PIER_* variable when set). */
export interface HookFacts {
  app: string;
  env?: string;
  version?: string;
  /** The image by digest (`repo@sha256:...`) when known. */
  digest?: string;
  /** Host names, in config order. */
  hosts?: readonly string[];
  /** Who runs pier (the audit log's `by`). */
  performer?: string;
  run?: string;
  command: string;
  /** Post hooks: succeeded | rolled-back | failed. */
  outcome?: string;
  /** Post hooks of a failed run: why (redacted). */
  error?: string;
  /** Rollback: the release the fleet goes to; deploy: what served before. */
  previous?: string;
  strategy?: string;
  roles?: readonly string[];
}

export interface HookResult {
  hook: HookName;
  command: string;
  ok: boolean;
  exitCode: number | null;
  seconds: number;
  timedOut?: boolean;
  /** Last lines of stdout+stderr, redacted. */
  tail: string;
}

/** A pre-hook said no: exit 1 (a gate), naming the hook, its command and its output. */
export class HookFailedError extends GateError {
  constructor(readonly result: HookResult) {
    super(`${result.hook} hook ${describeFailure(result)}${result.tail ? `:\n${result.tail.replace(/^/gm, '  | ')}` : ''}`);
  }
}

function describeFailure(r: HookResult): string {
  return `\`${r.command}\` ${r.timedOut ? `timed out after ${r.seconds.toFixed(0)}s` : `exited ${r.exitCode ?? 'on a signal'}`}`;
}

/** The hooks of a resolved config: pier.yaml's, each list replaced by the environment's when it sets one. Pure. */
export function resolveHooks(config: Pick<Config, 'hooks'> & { env?: { hooks?: Partial<HooksConfig>; file?: string } }): HooksConfig {
  const base: HooksConfig = { preBuild: [], preDeploy: [], postDeploy: [], preRollback: [], postRollback: [], ...(config.hooks ?? {}) };
  const env = config.env?.hooks ?? {};
  const out = { ...base };
  for (const [k, v] of Object.entries(env) as [HookName, HookSpec[] | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}

/** The PIER_* variables of a hook (pure); the caller's environment goes underneath. */
export function hookEnv(hook: HookName, facts: HookFacts, spec: Pick<HookSpec, 'env'>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const v: Record<string, string | undefined> = {
    PIER_HOOK: hook,
    PIER_APP: facts.app,
    PIER_COMMAND: facts.command,
    PIER_ENV: facts.env,
    PIER_VERSION: facts.version,
    PIER_DIGEST: facts.digest,
    PIER_HOSTS: facts.hosts?.join(','),
    PIER_PERFORMER: facts.performer,
    PIER_RUN: facts.run,
    PIER_OUTCOME: facts.outcome,
    PIER_ERROR: facts.error === undefined ? undefined : redact(facts.error).split('\n')[0],
    PIER_PREVIOUS: facts.previous,
    PIER_STRATEGY: facts.strategy,
    PIER_ROLES: facts.roles?.join(','),
  };
  const set = Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => e[1] !== undefined));
  return { ...base, ...spec.env, ...set };
}

export interface RunHooksOptions {
  cwd: string;
  /** Each line of output as it comes (already redacted). */
  onLine?: (line: string) => void;
  base?: NodeJS.ProcessEnv;
}

/** Run a hook's commands in order; stops at the first failure. Never throws for a failing command. */
export async function runHook(hook: HookName, specs: readonly HookSpec[], facts: HookFacts, opts: RunHooksOptions): Promise<HookResult[]> {
  const results: HookResult[] = [];
  for (const spec of specs) {
    const t0 = Date.now();
    let out = '';
    let pending = '';
    const r = await exec(spec.command, {
      cwd: opts.cwd,
      env: hookEnv(hook, facts, spec, opts.base),
      timeoutMs: spec.timeoutSeconds * 1000,
      nothrow: true,
      onOutput: (chunk) => {
        out = (out + chunk).slice(-8192);
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) opts.onLine?.(redact(l));
      },
    }).catch((e: Error) => ({ code: 127, stdout: '', stderr: e.message }));
    if (pending) opts.onLine?.(redact(pending));
    const seconds = (Date.now() - t0) / 1000;
    const timedOut = r.code === null && seconds >= spec.timeoutSeconds - 0.05;
    const tail = redact(out || r.stderr).trimEnd().split('\n').slice(-10).join('\n');
    const result: HookResult = { hook, command: toCommandLine(spec.command), ok: r.code === 0, exitCode: r.code, seconds, ...(timedOut ? { timedOut } : {}), tail };
    results.push(result);
    if (!result.ok) break;
  }
  return results;
}

/** Run a pre-hook: throws HookFailedError at the first failing command. */
export async function runPreHook(hook: HookName, specs: readonly HookSpec[], facts: HookFacts, opts: RunHooksOptions): Promise<HookResult[]> {
  const results = await runHook(hook, specs, facts, opts);
  const failed = results.find((r) => !r.ok);
  if (failed) throw new HookFailedError(failed);
  return results;
}

/** One line for a post-hook failure (reported, not thrown). */
export function postHookWarning(r: HookResult): string {
  return `${r.hook} hook ${describeFailure(r)} (the ${r.hook.startsWith('postRollback') ? 'rollback' : 'deploy'} stands)`;
}
