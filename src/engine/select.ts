/**
 * Engine choice for `pier ci --engine auto|docker|dagger`. The decision is a pure function of the
 * request, the environment and whether a `dagger` CLI is on PATH (tested by exact comparison);
 * `openEngine` is the one place that turns the decision into a live engine.
 */
import { EnvironmentError, UsageError } from '../util/errors.ts';
import type { Engine } from './types.ts';

export const ENGINE_CHOICES = ['auto', 'docker', 'dagger'] as const;
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

export interface EngineDecision {
  engine: 'docker' | 'dagger';
  /** Why, in words, for the report and `--verbose` output. */
  reason: string;
  /** The `dagger` CLI to start a session with (Dagger without a session only). */
  cliPath?: string;
}

/** Parse the `--engine` flag value (UsageError, exit 2, on anything else). */
export function parseEngineChoice(value: string | undefined): EngineChoice {
  const v = value ?? 'auto';
  if ((ENGINE_CHOICES as readonly string[]).includes(v)) return v as EngineChoice;
  throw new UsageError(`--engine: expected one of ${ENGINE_CHOICES.join(', ')}, got "${v}"`);
}

/**
 * Pick the engine. `auto`: Dagger inside a Dagger session (DAGGER_SESSION_PORT set, e.g. under
 * `dagger run` or in a module), else Dagger when a `dagger` CLI is on PATH, else Docker.
 */
export function selectEngine(
  choice: EngineChoice,
  env: Record<string, string | undefined>,
  daggerCli: string | undefined,
): EngineDecision {
  const session = env.DAGGER_SESSION_PORT;
  if (choice === 'docker') return { engine: 'docker', reason: '--engine docker' };
  if (choice === 'dagger') {
    if (session) return { engine: 'dagger', reason: `--engine dagger (session on port ${session})` };
    return daggerCli
      ? { engine: 'dagger', reason: `--engine dagger (CLI ${daggerCli})`, cliPath: daggerCli }
      : { engine: 'dagger', reason: '--engine dagger' };
  }
  if (session) return { engine: 'dagger', reason: `auto: inside a Dagger session (DAGGER_SESSION_PORT=${session})` };
  if (daggerCli) return { engine: 'dagger', reason: `auto: dagger CLI found at ${daggerCli}`, cliPath: daggerCli };
  return { engine: 'docker', reason: 'auto: no Dagger session and no dagger CLI on PATH' };
}


export interface OpenEngineOptions {
  runId: string;
  env?: NodeJS.ProcessEnv;
  /** Docker only: build without cache. */
  noCache?: boolean;
}

/**
 * Open the engine a decision names. Dagger failures to connect are EnvironmentError (exit 3) with
 * the reason; engine modules are imported lazily so Docker users never load the Dagger SDK.
 */
export async function openEngine(decision: EngineDecision, opts: OpenEngineOptions): Promise<Engine> {
  if (decision.engine === 'docker') {
    const { DockerEngine } = await import('./docker.ts');
    return new DockerEngine({ runId: opts.runId, noCache: opts.noCache });
  }
  // The Dagger SDK is an optional peer dependency: most users never need its ~130 MB.
  const { openDaggerEngine } = await import('./dagger.ts').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ERR_MODULE_NOT_FOUND' && /@dagger\.io\/dagger/.test(err.message)) {
      throw new EnvironmentError(`${decision.reason}: the Dagger SDK (@dagger.io/dagger) is not installed`, 'npm install --save-dev @dagger.io/dagger@0.21.8, or run with --engine docker');
    }
    throw err;
  });
  return openDaggerEngine({ runId: opts.runId, env: opts.env, cliPath: decision.cliPath });
}
