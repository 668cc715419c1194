/**
 * What the build needs to know about a Dockerfile (pure): its named stages, and which targets a
 * run builds. A single-stage Dockerfile (no `test`/`runtime` stages) builds its final stage and
 * runs the tests in that image; a name the user chose that is not there is a config error.
 */
import { ConfigError } from '../util/errors.ts';

export const DEFAULT_TARGETS = { test: 'test', runtime: 'runtime' } as const;

/** Stage names declared by `FROM ... AS name`, in order (continuation lines joined, comments skipped). */
export function dockerfileStages(text: string): string[] {
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const names: string[] = [];
  for (const line of logical) {
    const m = /^\s*FROM\s+(?:--\S+\s+)*\S+\s+AS\s+([A-Za-z0-9][A-Za-z0-9_.-]*)\s*$/i.exec(line);
    if (m) names.push(m[1]!.toLowerCase());
  }
  return names;
}

export interface TargetPlan {
  /** `--target` of the shipped image; undefined: the Dockerfile's final stage. */
  runtime?: string;
  /** `--target` of the test image; `runtime-image`: run the tests in the runtime image. */
  test: string | 'runtime-image';
  /** Said on screen / in the report when pier chose for the user. */
  notes: string[];
}

/**
 * Targets for a run (pure). A missing default name (`runtime`, `test`) falls back as described
 * above; a missing non-default name is a ConfigError naming `app.targets.*` and the stages found.
 */
export function planTargets(stages: string[], targets: { test: string; runtime: string }, dockerfile: string): TargetPlan {
  const has = (n: string) => stages.includes(n.toLowerCase());
  const notes: string[] = [];
  const missing = (key: 'test' | 'runtime') =>
    new ConfigError([
      {
        file: 'pier.yaml',
        path: `app.targets.${key}`,
        message: `stage "${targets[key]}" is not in ${dockerfile} (stages: ${stages.length ? stages.join(', ') : 'none named'})`,
      },
    ]);
  let runtime: string | undefined = targets.runtime;
  if (!has(targets.runtime)) {
    if (targets.runtime !== DEFAULT_TARGETS.runtime) throw missing('runtime');
    runtime = undefined;
    notes.push(`${dockerfile} has no "runtime" stage: building its final stage`);
  }
  let test: TargetPlan['test'] = targets.test;
  if (!has(targets.test)) {
    if (targets.test !== DEFAULT_TARGETS.test) throw missing('test');
    test = 'runtime-image';
    notes.push(`${dockerfile} has no "test" stage: tests run in the runtime image`);
  }
  return { runtime, test, notes };
}
