import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM config file without types
import strykerConfig from '../../stryker.config.mjs';

const root = new URL('../../', import.meta.url);
const tsconfig = JSON.parse(readFileSync(new URL('tsconfig.mutation.json', root), 'utf8')) as { files: string[] };
const runner = readFileSync(new URL('test/mutation/vitest.config.ts', root), 'utf8');

// Stryker's TypeScript checker only watches the files tsconfig.mutation.json lists: a mutated file
// missing there stops the whole run ("no watcher is registered for it") after the dry run.
describe('mutation set-up', () => {
  const mutated = [...new Set((strykerConfig.mutate as string[]).map((m) => m.split(':')[0]!))];

  it('every mutated file is in the TypeScript checker project', () => {
    expect(mutated.length).toBeGreaterThan(10);
    expect(mutated.filter((f) => !tsconfig.files.includes(f))).toEqual([]);
  });

  it('every unit test file the mutation runner lists exists', () => {
    const listed = [...runner.matchAll(/'(test\/unit\/[^']+\.test\.ts)'/g)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThan(10);
    const missing = listed.filter((f) => {
      try {
        readFileSync(new URL(f, root));
        return false;
      } catch {
        return true;
      }
    });
    expect(missing).toEqual([]);
  });
});
