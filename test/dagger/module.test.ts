/**
 * The Dagger module's static contract: dagger.json as the engine reads it, its functions generated
 * from the stage registry and the vendored copy of src/ are fresh, and the module type-checks
 * against the SDK's own types.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from '../helpers/paths.ts';
import { closure, importsOf, packageName, staleness } from '../../dagger/vendor.ts';
import { renderModule } from '../../dagger/module-gen.ts';
import { moduleFiles } from './sdk-standin.ts';
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

  it('generated module functions and vendored copy of src/ (dagger/src/pier) are up to date: run `npx tsx dagger/vendor.ts` if not', () => {
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

  it('the module functions (dagger/src/index.ts) are generated from the stage registry: one per stage, plus serve and ci', () => {
    const code = readFileSync(join(repoRoot, 'dagger', 'src', 'index.ts'), 'utf8');
    expect(code).toBe(renderModule(STAGES));
    for (const s of STAGES) expect(code, s.name).toContain(`async ${s.dagger.name}(`);
    expect(code.match(/@func\(/g)).toHaveLength(STAGES.length + 2);
  });

  it('generator: return kinds, registry arguments, cache policy; refuses clashing or non-identifier names', () => {
    const code = renderModule([
      { name: 'lint', dagger: { name: 'lint', returns: 'summary', doc: 'Lint the app.', examples: ['lint'] } },
      { name: 'sbom', dagger: { name: 'sbomPush', returns: 'image', args: 'registry', uncached: true, doc: 'Push an SBOM.', examples: ['sbom-push --address=r'] } },
    ]);
    expect(code).toContain("   * Lint the app.\n   *\n   * Example: dagger call lint\n   */\n  @func()\n  async lint(@argument({ defaultPath: '/', ignore: IGNORE }) source: Directory): Promise<string> {\n    return (await runStages(source, { only: ['lint'] })).text;\n  }");
    expect(code).toContain("  @func({ cache: 'never' })\n  async sbomPush(\n    @argument({ defaultPath: '/', ignore: IGNORE }) source: Directory,\n    address?: string,\n    username?: string,\n    password?: Secret,\n  ): Promise<string> {\n    return imageOf(await runStages(source, { only: ['sbom'] }, { address, username, password }), 'sbom');\n  }");
    // The module description is the file's first doc comment: the generated-file notice comes after it.
    expect(code.startsWith('/**\n * pier as a Dagger module')).toBe(true);
    const def = { returns: 'summary', doc: 'x', examples: [] } as const;
    expect(() => renderModule([{ name: 'a', dagger: { name: 'ci', ...def } }])).toThrow('two Dagger functions named "ci"');
    expect(() => renderModule([{ name: 'a', dagger: { name: 'x', ...def } }, { name: 'b', dagger: { name: 'x', ...def } }])).toThrow('two Dagger functions named "x"');
    expect(() => renderModule([{ name: 'a', dagger: { name: 'load-test', ...def } }])).toThrow('stage a: dagger.name "load-test" is not a camelCase identifier');
  });

  it('a stage added to the registry becomes a Dagger function: the SDK\'s own introspection of the generated module', async () => {
    // The TypeScript SDK's introspection entrypoint (what the module runtime runs to register the
    // module; DRY_RUN prints what it found) over a copy of dagger/src whose index.ts was generated
    // from the registry plus one more stage.
    // Inside the checkout (under the git-ignored .pier/) so '@dagger.io/dagger' resolves as from dagger/src.
    mkdirSync(join(repoRoot, '.pier'), { recursive: true });
    const dir = mkdtempSync(join(repoRoot, '.pier', 'dagger-gen-'));
    try {
      cpSync(join(repoRoot, 'dagger', 'src'), dir, { recursive: true });
      const lint = { name: 'lint', dagger: { name: 'lint', returns: 'summary', doc: 'Lint the app.', examples: ['lint'] } } as const;
      writeFileSync(join(dir, 'index.ts'), renderModule([...STAGES, lint]));
      const introspect = join(repoRoot, 'node_modules', '@dagger.io', 'dagger', 'dist', 'src', 'module', 'entrypoint', 'introspection_entrypoint.js');
      const client = moduleFiles().at(-1)!;
      const r = await exec([process.execPath, introspect, 'pier', dir, client], { env: { ...process.env, DRY_RUN: '1' }, nothrow: true, timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      const mod = JSON.parse(r.stdout) as { description: string; objects: { Pier: { methods: Record<string, { arguments: Record<string, { defaultPath?: string }>; returnType: { kind: string; name?: string } }> } } };
      const fns = mod.objects.Pier.methods;
      expect(Object.keys(fns).sort()).toEqual([...STAGES.map((s) => s.dagger.name), 'lint', 'serve', 'ci'].sort());
      expect(fns.lint!.returnType.kind).toBe('STRING_KIND');
      expect(fns.lint!.arguments.source).toMatchObject({ defaultPath: '/' });
      expect(fns.build!.returnType).toMatchObject({ kind: 'OBJECT_KIND', name: 'Container' });
      expect(Object.keys(fns.publish!.arguments)).toEqual(['source', 'address', 'username', 'password']);
      expect(mod.description).toMatch(/^pier as a Dagger module/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

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
