/** Publish stage: push the runtime image to the configured registry, record the digest. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RegistryAuth } from '../../engine/types.ts';
import type { PipelineConfig } from '../../config/schema.ts';
import { ConfigError } from '../../util/errors.ts';
import { registerSecret } from '../../util/redact.ts';
import { MIN_SECRET_LENGTH, tooShortMessage } from '../../secrets/model.ts';
import type { StageContext, StageOutcome } from '../context.ts';

/** Registry auth from the config: password from an env var or a file, never from pier.yaml itself. */
export function registryAuth(reg: PipelineConfig['registry'], root: string, env: NodeJS.ProcessEnv = process.env): RegistryAuth | undefined {
  if (!reg.username) return undefined;
  let password: string | undefined;
  if (reg.passwordEnv) {
    password = env[reg.passwordEnv];
    if (!password) throw new ConfigError([{ file: 'pier.yaml', path: 'pipeline.registry.passwordEnv', message: `environment variable ${reg.passwordEnv} is not set` }]);
  } else if (reg.passwordFile) {
    const f = resolve(root, reg.passwordFile);
    try {
      password = readFileSync(f, 'utf8').trim();
    } catch (err) {
      throw new ConfigError([{ file: 'pier.yaml', path: 'pipeline.registry.passwordFile', message: `cannot read ${f}: ${(err as NodeJS.ErrnoException).code}` }]);
    }
  } else {
    throw new ConfigError([{ file: 'pier.yaml', path: 'pipeline.registry', message: 'username is set: expected passwordEnv or passwordFile too' }]);
  }
  if (password === '') throw new ConfigError([{ file: 'pier.yaml', path: 'pipeline.registry.passwordFile', message: `${reg.passwordFile} is empty: expected the registry password` }]);
  // A 1-2 character password cannot be redacted from output: refused rather than shown.
  if (password.length < MIN_SECRET_LENGTH) throw new ConfigError([{ file: 'pier.yaml', path: `pipeline.registry.${reg.passwordEnv ? 'passwordEnv' : 'passwordFile'}`, message: `the registry password has ${tooShortMessage(password.length)}` }]);
  registerSecret(password);
  return { username: reg.username, password };
}

/** Where the image goes: `<address>/<repository>:<tag>` (pure). */
export function publishRef(reg: PipelineConfig['registry'], image: string, tag: string): string {
  return `${reg.address}/${reg.repository ?? image}:${tag}`;
}

export async function publishStage(ctx: StageContext): Promise<StageOutcome> {
  const reg = ctx.config.pipeline.registry;
  const image = ctx.state.runtime;
  if (!image || !ctx.state.tag) throw new Error('publish stage needs the runtime image: build first');
  const auth = registryAuth(reg, ctx.config.root);
  if (reg.startLocal && /^(127\.0\.0\.1|localhost):\d+$/.test(reg.address)) await ctx.hooks.prepareRegistry?.(reg.address);
  const address = publishRef(reg, ctx.config.app.image, ctx.state.tag);
  ctx.progress.live(`pushing ${address}`);
  const pub = await ctx.engine.publish({ image, address, auth });
  return { status: 'passed', figures: { image: pub.ref, digest: pub.digest } };
}
