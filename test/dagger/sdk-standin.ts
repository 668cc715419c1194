/**
 * What the TypeScript module runtime hands the SDK, rebuilt outside an engine: the module's .ts
 * files plus a `client.gen.ts` (the runtime generates one into dagger/sdk/; here the npm SDK's
 * declarations stand in, which is enough for the introspector to resolve core types such as
 * Directory and Secret).
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/paths.ts';

export const sdkDist = join(repoRoot, 'node_modules', '@dagger.io', 'dagger', 'dist', 'src');
export const moduleSrc = join(repoRoot, 'dagger', 'src');

function listTs(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? listTs(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The files the runtime's generated entrypoint passes to `entrypoint(files)`. */
export function moduleFiles(): string[] {
  const dir = join(tmpdir(), `pier-dagger-sdk-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const gen = readFileSync(join(sdkDist, 'api', 'client.gen.d.ts'), 'utf8').replace('from "../common/context.js"', `from "${join(sdkDist, 'common', 'context.js')}"`);
  writeFileSync(join(dir, 'client.gen.ts'), gen);
  return [...listTs(moduleSrc), join(dir, 'client.gen.ts')];
}
