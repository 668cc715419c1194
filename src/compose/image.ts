/**
 * Staging runs the production image. When the image the stack selects (PIER_APP_IMAGE) is not
 * in the local engine, build it the way the pipeline does: the app's runtime target, with buildx.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import { exec, type ExecOptions } from '../util/exec.ts';
import { repositoryOf } from '../util/image-ref.ts';
import { buildxArgv, configJsonArgv, imageInspectArgv, type ComposeTarget, type ImageBuild } from './commands.ts';
import type { Runner } from './stack.ts';

interface ComposeModel {
  services?: Record<string, { image?: string; build?: unknown }>;
}

/**
 * Images of services that run the app's production image: no `build:` of their own (compose
 * builds those) and the repository of `app.image`.
 */
export function appImagesIn(model: ComposeModel, appRepository: string): string[] {
  const refs = Object.values(model.services ?? {})
    .filter((s) => s.image && !s.build && repositoryOf(s.image) === appRepository)
    .map((s) => s.image!);
  return [...new Set(refs)];
}

/** The buildx build of the runtime target for `tag`, from pier.yaml's app section. */
export function runtimeBuild(cfg: Config, tag: string, caFile = process.env.PIER_CA_FILE ?? '/etc/ssl/certs/ca-certificates.crt'): ImageBuild {
  const context = resolve(cfg.root, cfg.app.context);
  return {
    context,
    dockerfile: resolve(context, cfg.app.dockerfile),
    target: cfg.app.targets.runtime,
    tag,
    buildArgs: cfg.app.buildArgs,
    caFile: existsSync(caFile) ? caFile : undefined,
  };
}

/**
 * Build each app image the stack needs that the engine does not have. Returns the tags built.
 * Output goes to `onProgress`; a failed build throws ProcessError with its last lines (exit 3).
 */
export async function ensureAppImages(
  cfg: Config,
  target: ComposeTarget,
  opts: { env?: NodeJS.ProcessEnv; run?: Runner; onProgress?: (line: string) => void } = {},
): Promise<string[]> {
  const run = opts.run ?? exec;
  const execOpts: ExecOptions = { env: opts.env ?? process.env };
  const model = JSON.parse((await run(configJsonArgv(target), execOpts)).stdout) as ComposeModel;
  const built: string[] = [];
  for (const ref of appImagesIn(model, repositoryOf(cfg.app.image))) {
    const present = await run(imageInspectArgv(ref), { ...execOpts, nothrow: true });
    if (present.code === 0) continue;
    opts.onProgress?.(`image ${ref} is not in the local engine: building ${cfg.app.context} (target ${cfg.app.targets.runtime})`);
    await run(buildxArgv(runtimeBuild(cfg, ref)), {
      ...execOpts,
      onOutput: opts.onProgress && ((chunk) => chunk.split('\n').filter((l) => l.trim()).forEach((l) => opts.onProgress!(l.trim()))),
    });
    built.push(ref);
  }
  return built;
}
