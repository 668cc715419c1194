/** Image versions and tags from real temporary git repositories. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/util/errors.ts';
import { compareSemver, imageTag, imageVersion, pyprojectVersion, resolveVersion, versionFromTag } from '../../../src/pipeline/version.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function repo(files: Record<string, string> = {}): { dir: string; git: (...a: string[]) => string; write: (f: string, c: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'pier-version-'));
  dirs.push(dir);
  const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false', ...a], { cwd: dir, encoding: 'utf8' }).trim();
  const write = (f: string, c: string) => {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), c);
  };
  git('init', '-q', '-b', 'main');
  for (const [f, c] of Object.entries({ 'app.py': 'print(1)\n', ...files })) write(f, c);
  git('add', '-A');
  git('commit', '-q', '-m', 'first');
  return { dir, git, write };
}

describe('version sources', () => {
  it('a semver tag on HEAD wins (v stripped, highest of several, non-semver tags ignored)', async () => {
    const r = repo({ 'package.json': '{"version":"9.9.9"}' });
    r.git('tag', 'v1.4.2');
    r.git('tag', 'v1.10.0');
    r.git('tag', 'release-candidate');
    expect(await resolveVersion(r.dir)).toEqual({ version: '1.10.0', source: 'git tag' });
  });

  it('no tag on HEAD: package.json, then pyproject ([project] or [tool.poetry]), then app.version, then the nearest tag, then 0.0.0', async () => {
    const r = repo();
    expect(await resolveVersion(r.dir)).toEqual({ version: '0.0.0', source: 'default' });
    r.git('tag', 'v2.0.0');
    r.write('app.py', 'print(2)\n');
    r.git('commit', '-qam', 'second');
    expect(await resolveVersion(r.dir)).toEqual({ version: '2.0.0', source: 'nearest git tag' });
    expect(await resolveVersion(r.dir, '3.1.0')).toEqual({ version: '3.1.0', source: 'pier.yaml app.version' });
    r.write('pyproject.toml', '[build-system]\nrequires = ["setuptools"]\n\n[tool.poetry]\nname = "x"\nversion = "0.4.1"  # released\n');
    expect(await resolveVersion(r.dir, '3.1.0')).toEqual({ version: '0.4.1', source: 'pyproject.toml' });
    r.write('package.json', '{"version":"5.0.0"}');
    expect(await resolveVersion(r.dir, '3.1.0')).toEqual({ version: '5.0.0', source: 'package.json' });
  });

  it('outside git: the manifest or 0.0.0, and the tag says nogit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-version-nogit-'));
    dirs.push(dir);
    expect(await imageVersion(dir)).toMatchObject({ version: '0.0.0', source: 'default', tag: '0.0.0-nogit', dirty: false });
  });

  it('pyproject: [project] version, a dynamic version is no version, a bad value names file, line and key', () => {
    expect(pyprojectVersion('[project]\nname = "a"\nversion = \'1.2\'\n')).toBe('1.2');
    expect(pyprojectVersion('[tool.other]\nversion = "1.0.0"\n[project]\ndynamic = ["version"]\n')).toBeUndefined();
    const bad = () => pyprojectVersion('[project]\nname = "a"\nversion = 12\n', 'app/pyproject.toml');
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/app\/pyproject\.toml:3:1: project\.version: expected a version string/);
  });

  it('a package.json without a version falls through; a malformed one is a config error', async () => {
    const r = repo({ 'package.json': '{"name":"x"}' });
    expect(await resolveVersion(r.dir)).toEqual({ version: '0.0.0', source: 'default' });
    r.write('package.json', '{"version":"two"}');
    await expect(resolveVersion(r.dir)).rejects.toThrow(/package\.json: version: expected a semver string/);
  });
});

describe('image tags and dirty trees', () => {
  it('clean tree: <version>-<sha>', async () => {
    const r = repo();
    r.git('tag', 'v1.4.2');
    const sha = r.git('rev-parse', '--short=7', 'HEAD');
    expect(await imageVersion(r.dir)).toMatchObject({ tag: `1.4.2-${sha}`, dirty: false });
  });

  it('a dirty tree gets a tag unique to its content; the same content gives the same tag', async () => {
    const r = repo();
    const sha = r.git('rev-parse', '--short=7', 'HEAD');
    r.write('app.py', 'print("changed")\n');
    const a = await imageVersion(r.dir);
    expect(a.tag).toMatch(new RegExp(`^0\\.0\\.0-${sha}-dirty-[0-9a-f]{12}$`));
    r.write('app.py', 'print("changed again")\n');
    const b = await imageVersion(r.dir);
    expect(b.tag).not.toBe(a.tag);
    r.write('app.py', 'print("changed")\n');
    expect((await imageVersion(r.dir)).tag).toBe(a.tag);
    r.write('new.py', 'x = 1\n'); // an untracked file is a change too
    expect((await imageVersion(r.dir)).tag).not.toBe(a.tag);
  });

  it('.pier/ and .env never make a tree dirty, even when git does not ignore them, at any depth', async () => {
    const r = repo({ 'svc/main.go': 'package main\n' });
    r.write('.pier/runs/1/report.json', '{}');
    r.write('.env', 'PIER_NODE_IMAGE=x\n');
    r.write('svc/.env', 'A=1\n');
    r.write('svc/.pier/x', '1');
    expect((await imageVersion(r.dir)).dirty).toBe(false);
    expect((await imageVersion(join(r.dir, 'svc'))).dirty).toBe(false);
    r.write('.env.example', 'A=\n'); // only .env itself is exempt
    expect((await imageVersion(r.dir)).dirty).toBe(true);
  });

  it('changes outside the build context do not dirty it; deletions inside do', async () => {
    const r = repo({ 'svc/main.go': 'package main\n', 'docs/a.md': 'a\n' });
    r.write('docs/a.md', 'b\n');
    expect((await imageVersion(join(r.dir, 'svc'))).dirty).toBe(false);
    rmSync(join(r.dir, 'svc', 'main.go'));
    expect((await imageVersion(join(r.dir, 'svc'))).tag).toMatch(/-dirty-[0-9a-f]{12}$/);
  });

  it('pure helpers: tag formats, semver order, tags', () => {
    expect(imageTag('1.0.0', 'abc1234', false)).toBe('1.0.0-abc1234');
    expect(imageTag('1.0.0', 'abc1234', true)).toBe('1.0.0-abc1234-dirty');
    expect(imageTag('1.0.0', 'abc1234', 'ffee00112233')).toBe('1.0.0-abc1234-dirty-ffee00112233');
    expect(imageTag('1.0.0+build.5', 'abc1234', false)).toBe('1.0.0_build.5-abc1234');
    expect(versionFromTag('v1.4.2')).toBe('1.4.2');
    expect(versionFromTag('1.4.2-rc.1')).toBe('1.4.2-rc.1');
    expect(versionFromTag('v1.4')).toBeUndefined();
    expect(['1.10.0', '1.2.0', '1.2.0-rc.1', '1.2.0-rc.10', '1.2.0-rc.2'].sort(compareSemver)).toEqual(['1.2.0-rc.1', '1.2.0-rc.2', '1.2.0-rc.10', '1.2.0', '1.10.0']);
  });
});
