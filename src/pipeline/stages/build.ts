/** Build stage: the runtime image (and the test image when tests run), tagged semver+sha. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { EnvironmentError } from '../../util/errors.ts';
import { BuildFailedError, type BuildSpec } from '../../engine/types.ts';
import type { StageContext, StageOutcome } from '../context.ts';
import { imageVersion } from '../version.ts';

export const DEFAULT_CA = '/etc/ssl/certs/ca-certificates.crt';

/** The build specs of a run (pure): runtime first, then test when wanted. */
export function buildSpecs(
  app: { image: string; context: string; dockerfile: string; targets: { test: string; runtime: string }; buildArgs: Record<string, string>; name: string },
  root: string,
  tag: string,
  caFile: string | undefined,
  withTest: boolean,
): BuildSpec[] {
  const base = {
    context: resolve(root, app.context),
    dockerfile: app.dockerfile,
    buildArgs: app.buildArgs,
    secrets: caFile ? [{ id: 'ca', file: caFile }] : [],
    labels: { 'pier.app': app.name, 'org.opencontainers.image.version': tag },
  };
  const specs: BuildSpec[] = [{ ...base, target: app.targets.runtime, tags: [`${app.image}:${tag}`] }];
  if (withTest) specs.push({ ...base, target: app.targets.test, tags: [`${app.image}:${tag}-test`] });
  return specs;
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
  const figures: Record<string, unknown> = { version, versionSource, tag, caSecret: Boolean(ca) };
  try {
    for (const spec of buildSpecs(app, ctx.config.root, tag, ca, withTest)) {
      const step = spec.target === app.targets.test ? 'test' : 'runtime';
      let lines = 0;
      const img = await ctx.engine.build({ ...spec, onLog: () => ctx.progress.live(`${step} target, ${++lines} log lines`) });
      if (step === 'runtime') {
        ctx.state.runtime = img;
        figures.image = img.ref;
        figures.imageId = img.id;
      } else {
        ctx.state.testImage = img;
        figures.testImage = img.ref;
      }
    }
  } catch (err) {
    if (err instanceof BuildFailedError) return { status: 'failed', reason: err.message, figures };
    throw err;
  }
  return { status: 'passed', figures };
}
