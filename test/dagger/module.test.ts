/**
 * The Dagger module's static contract: dagger.json as the engine reads it, the vendored copy of
 * src/ is fresh, and the module type-checks against the SDK's own types.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from '../helpers/paths.ts';
import { closure, importsOf, packageName, staleness } from '../../dagger/vendor.ts';
import { serveArgs } from '../../dagger/src/serve.ts';
import { STAGES } from '../../src/pipeline/stages/index.ts';

describe('Dagger module', () => {
  it('dagger.json: TypeScript SDK, source dagger/, pinned engine v0.21.x', () => {
    const cfg = JSON.parse(readFileSync(join(repoRoot, 'dagger.json'), 'utf8'));
    expect(cfg).toEqual({ name: 'pier', engineVersion: 'v0.21.8', sdk: { source: 'typescript' }, source: 'dagger' });
  });

  it('has its own package.json with a committed npm lockfile (the runtime then uses npm)', () => {
    expect(existsSync(join(repoRoot, 'dagger', 'package-lock.json'))).toBe(true);
    const lock = JSON.parse(readFileSync(join(repoRoot, 'dagger', 'package-lock.json'), 'utf8'));
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'dagger', 'package.json'), 'utf8'));
    expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
  });

  it('vendored copy of src/ (dagger/src/pier) is up to date: run `npx tsx dagger/vendor.ts` if not', () => {
    expect(staleness()).toEqual([]);
  });

  it('vendor: import scanning and the closure of the module entry points', () => {
    expect(importsOf(`import { a } from './a.ts';\nimport type { B } from "../b.ts";\nimport x from 'zod';\nimport { y } from 'node:fs';\nimport('@dagger.io/dagger/telemetry');\nimport 'os';`)).toEqual({
      relative: ['./a.ts', '../b.ts'],
      bare: ['zod', '@dagger.io/dagger/telemetry'],
    });
    expect(packageName('@dagger.io/dagger/telemetry')).toBe('@dagger.io/dagger');
    const c = closure();
    expect(c.files).toEqual(expect.arrayContaining(['engine/dagger.ts', 'pipeline/runner.ts', 'pipeline/stages/scan.ts', 'config/load.ts']));
    expect(c.files.some((f) => f.startsWith('docker/') || f === 'engine/docker.ts')).toBe(false);
    expect(c.packages).not.toContain('dockerode');
  });

  it('has a function for every stage in the registry, running that stage', () => {
    // Dagger reads the module's functions from its source (decorators), so they cannot be generated
    // from the registry; this keeps the two in step: a new stage fails here until it has one.
    const code = readFileSync(join(repoRoot, 'dagger', 'src', 'index.ts'), 'utf8');
    for (const s of STAGES) {
      const fn = new RegExp(`async ${s.dagger}\\([^]*?\\{([^]*?)\\n  \\}`).exec(code);
      expect(fn, `dagger/src/index.ts: no function ${s.dagger} for stage ${s.name}`).not.toBeNull();
      expect(fn![1], s.dagger).toContain(`only: ['${s.name}']`);
    }
  });

  it('serve: migration then the image command, the command passed as positional parameters', () => {
    expect(serveArgs(undefined, ['node', 'src/server.js'])).toEqual(['node', 'src/server.js']);
    expect(serveArgs(['node', 'src/migrate.js'], ['node', 'src/server.js'])).toEqual(['sh', '-c', 'node src/migrate.js && exec "$@"', 'pier-serve', 'node', 'src/server.js']);
    expect(serveArgs(['npm', 'run', "it's; rm -rf /"], [])).toEqual(['sh', '-c', `npm run 'it'\\''s; rm -rf /' && exec "$@"`, 'pier-serve']);
  });

  it('type-checks against the @dagger.io/dagger 0.21.8 types (tsc -p dagger/tsconfig.check.json)', async () => {
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await exec([process.execPath, tsc, '-p', join(repoRoot, 'dagger', 'tsconfig.check.json')], { nothrow: true, cwd: repoRoot });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.code).toBe(0);
  });
});
