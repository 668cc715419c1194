/** Build stage: the runtime image (and the test image when tests run), tagged semver+sha. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, EnvironmentError } from '../../util/errors.ts';
import { BuildFailedError, type BuildSpec } from '../../engine/types.ts';
import type { StageContext, StageOutcome } from '../context.ts';
import { imageVersion } from '../version.ts';
import { dockerfileStages, planTargets, type TargetPlan } from '../dockerfile.ts';
import { recordBuilds } from '../build-record.ts';

/** pier's own files in an app's directory: never sent to a build, whatever .dockerignore says. */
export const ALWAYS_EXCLUDED = ['.env', '.pier'];
/** Older images of the app kept per kind (runtime, test) after a build. */
export const KEEP_IMAGES = 3;

export const DEFAULT_CA = '/etc/ssl/certs/ca-certificates.crt';

/** The build specs of a run (pure): runtime first, then test when wanted. */
export function buildSpecs(
  app: { image: string; context: string; dockerfile: string; targets: { test: string; runtime: string }; buildArgs: Record<string, string>; name: string },
  root: string,
  tag: string,
  caFile: string | undefined,
  withTest: boolean,
  plan: TargetPlan = { runtime: app.targets.runtime, test: app.targets.test, notes: [] },
): BuildSpec[] {
  const base = {
    context: resolve(root, app.context),
    dockerfile: app.dockerfile,
    buildArgs: app.buildArgs,
    secrets: caFile ? [{ id: 'ca', file: caFile }] : [],
    exclude: ALWAYS_EXCLUDED,
  };
  const labels = (kind: string) => ({ 'pier.app': app.name, 'pier.image': kind, 'org.opencontainers.image.version': tag });
  const specs: BuildSpec[] = [{ ...base, ...(plan.runtime ? { target: plan.runtime } : {}), labels: labels('runtime'), tags: [`${app.image}:${tag}`] }];
  // No test stage: the tests run in the runtime image, nothing more to build.
  if (withTest && plan.test !== 'runtime-image') specs.push({ ...base, target: plan.test, labels: labels('test'), tags: [`${app.image}:${tag}-test`] });
  return specs;
}

/** The target plan from the app's Dockerfile; unreadable Dockerfile: a config error naming it. */
export function targetPlan(app: { context: string; dockerfile: string; targets: { test: string; runtime: string } }, root: string): TargetPlan {
  const file = resolve(root, app.context, app.dockerfile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: 'pier.yaml', path: 'app.dockerfile', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return planTargets(dockerfileStages(text), app.targets, app.dockerfile);
}

export async function buildStage(ctx: StageContext, withTest: boolean): Promise<StageOutcome> {
  const { app } = ctx.config;
  const context = resolve(ctx.config.root, app.context);
  const { version, source: versionSource, tag } = await imageVersion(context, app.version);
  // PIER_CA_FILE: a corporate proxy's bundle; by default the system bundle when there is one.
  const chosen = ctx.options.caFile ?? process.env.PIER_CA_FILE;
  if (chosen && !existsSync(chosen)) throw new EnvironmentError(`CA bundle ${chosen} (PIER_CA_FILE) does not exist`);
  const ca = chosen ?? (existsSync(DEFAULT_CA) ? DEFAULT_CA : undefined);
  ctx.state.version = version;
  ctx.state.tag = tag;
  const plan = targetPlan(app, ctx.config.root);
  for (const n of plan.notes) ctx.progress.note(n);
  const figures: Record<string, unknown> = { version, versionSource, tag, caSecret: Boolean(ca), ...(plan.notes.length ? { targets: plan.notes } : {}) };
  try {
    for (const spec of buildSpecs(app, ctx.config.root, tag, ca, withTest, plan)) {
      const step = spec.labels?.['pier.image'] === 'test' ? 'test' : 'runtime';
      let lines = 0;
      const img = await ctx.engine.build({ ...spec, onLog: () => ctx.progress.live(`${step} target, ${++lines} log lines`) });
      if (step === 'runtime') {
        ctx.state.runtime = img;
        figures.image = img.ref;
        figures.imageId = img.id;
        if (withTest && plan.test === 'runtime-image') {
          ctx.state.testImage = img;
          figures.testImage = img.ref;
        }
      } else {
        ctx.state.testImage = img;
        figures.testImage = img.ref;
      }
    }
  } catch (err) {
    if (err instanceof BuildFailedError) return { status: 'failed', reason: err.message, figures };
    throw err;
  }
  // Each commit would otherwise leave a full test image and registry-prefixed tags behind.
  const built = [ctx.state.runtime, ctx.state.testImage].filter((i): i is NonNullable<typeof i> => Boolean(i));
  const builtAt = ctx.engine.pruneImages ? recordBuilds(ctx.config.root, app.name, built.flatMap((i) => (i.id ? [i.id] : [])))[app.name] : undefined;
  const pruned = await ctx.engine.pruneImages?.(app.name, KEEP_IMAGES, { protect: built.map((i) => i.ref), builtAt }).catch(() => []);
  if (pruned?.length) figures.prunedTags = pruned;
  return { status: 'passed', figures };
}
