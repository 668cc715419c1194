/**
 * The image tag: `<version>-<sha>`, `<version>-<sha>-dirty-<hash>` or `<version>-nogit`.
 *
 * The version, first found wins:
 *   1. a semver git tag on HEAD (`v1.4.2` or `1.4.2` -> `1.4.2`; the highest when several);
 *   2. the app's own manifest in the build context: package.json `version`, else pyproject.toml
 *      `[project].version` or `[tool.poetry].version`;
 *   3. `app.version` in pier.yaml;
 *   4. the nearest semver tag reachable from HEAD (`git describe`), so a Go or Java app that is
 *      versioned by tags alone keeps its release line between tags (the sha tells them apart);
 *   5. `0.0.0`.
 * A tag on HEAD beats the manifest because tagging is the release act; between tags the manifest
 * says what the next release will be, which is a better name than the last one.
 *
 * Dirty trees: the tag carries a hash of the changed files' content, so re-publishing a changed
 * dirty tree never reuses a tag. `.pier/` (run reports) and `.env` (machine choices) never make a
 * tree dirty, ignored by git or not.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { exec } from '../util/exec.ts';

export type VersionSource = 'git tag' | 'package.json' | 'pyproject.toml' | 'pier.yaml app.version' | 'nearest git tag' | 'default';

export interface ResolvedVersion {
  version: string;
  source: VersionSource;
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** `v1.4.2` / `1.4.2` -> `1.4.2`; anything that is not semver -> undefined (pure). */
export function versionFromTag(tag: string): string | undefined {
  const v = tag.trim().replace(/^v/, '');
  return SEMVER.test(v) ? v : undefined;
}

/** Semver order (numeric core, then a release above its pre-releases, then pre-release text) (pure). */
export function compareSemver(a: string, b: string): number {
  const pa = SEMVER.exec(a)!;
  const pb = SEMVER.exec(b)!;
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d) return d;
  }
  if (!pa[4] !== !pb[4]) return pa[4] ? -1 : 1;
  return (pa[4] ?? '').localeCompare(pb[4] ?? '', 'en', { numeric: true });
}

/**
 * `1.2.3-abc1234`, `1.2.3-abc1234-dirty`, `1.2.3-abc1234-dirty-<hash>`, or `1.2.3-nogit` outside a
 * git checkout (pure). Build metadata (`+x`) is not allowed in Docker tags: `+` becomes `_`.
 */
export function imageTag(version: string, sha: string | undefined, dirty: boolean | string): string {
  const v = version.replace(/\+/g, '_');
  if (!sha) return `${v}-nogit`;
  if (!dirty) return `${v}-${sha}`;
  return typeof dirty === 'string' ? `${v}-${sha}-dirty-${dirty}` : `${v}-${sha}-dirty`;
}

function invalid(file: string, path: string, message: string, line?: number): ConfigError {
  return new ConfigError([{ file, path, message, ...(line ? { line, col: 1 } : {}) }]);
}

/** The `version` of a package.json (undefined when the file or the field is absent). */
export function packageJsonVersion(context: string): string | undefined {
  const file = join(context, 'package.json');
  if (!existsSync(file)) return undefined;
  let pkg: { version?: unknown };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw invalid(file, 'version', `cannot read the app's package.json: ${(err as Error).message}`);
  }
  if (pkg.version === undefined) return undefined;
  if (typeof pkg.version !== 'string' || !SEMVER.test(pkg.version)) {
    throw invalid(file, 'version', `expected a semver string such as "1.0.0", got ${JSON.stringify(pkg.version)}`);
  }
  return pkg.version;
}

/**
 * `[project].version` or `[tool.poetry].version` of a pyproject.toml (pure over the text). Only
 * what a version needs of TOML: table headers and a `version = "..."` string on one line.
 */
export function pyprojectVersion(text: string, file = 'pyproject.toml'): string | undefined {
  let table = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\s+#.*$/, '').trim();
    const header = /^\[\s*([A-Za-z0-9_.\s"-]+?)\s*\]$/.exec(line);
    if (header) {
      table = header[1]!.replace(/\s|"/g, '');
      continue;
    }
    if (table !== 'project' && table !== 'tool.poetry') continue;
    const m = /^version\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const str = /^"([^"]*)"$|^'([^']*)'$/.exec(m[1]!.trim());
    const value = str?.[1] ?? str?.[2];
    // PEP 440 versions are wider than semver; accept those Docker tags can carry (1.0, 2.1.0rc1).
    if (value === undefined || !/^\d+(\.\d+)*([A-Za-z0-9._+-]*)$/.test(value)) {
      throw invalid(file, `${table}.version`, `expected a version string such as "1.0.0", got ${m[1]!.trim()}`, i + 1);
    }
    return value;
  }
  return undefined;
}

/** The version from the app's manifest in its build context, with where it came from. */
export function manifestVersion(context: string): ResolvedVersion | undefined {
  const pkg = packageJsonVersion(context);
  if (pkg) return { version: pkg, source: 'package.json' };
  const py = join(context, 'pyproject.toml');
  if (existsSync(py)) {
    const v = pyprojectVersion(readFileSync(py, 'utf8'), py);
    if (v) return { version: v, source: 'pyproject.toml' };
  }
  return undefined;
}

/** The manifest version (package.json, else pyproject.toml) or a config error naming what is missing. */
export function appVersion(context: string): string {
  const m = manifestVersion(context);
  if (!m) throw invalid(join(context, 'package.json'), 'version', 'no version: expected a package.json or pyproject.toml with a version');
  return m.version;
}

async function git(context: string, args: string[]): Promise<string | undefined> {
  const r = await exec(['git', '-C', context, ...args], { nothrow: true }).catch(() => undefined);
  return r && r.code === 0 ? r.stdout : undefined;
}

/** The highest semver tag on HEAD, else the nearest reachable one (used last, see above). */
async function tagVersions(context: string): Promise<{ onHead?: string; nearest?: string }> {
  const onHead = (await git(context, ['tag', '--points-at', 'HEAD']))
    ?.split('\n')
    .map(versionFromTag)
    .filter((v): v is string => Boolean(v))
    .sort(compareSemver)
    .pop();
  if (onHead) return { onHead };
  const described = await git(context, ['describe', '--tags', '--abbrev=0', '--match', 'v[0-9]*.[0-9]*.[0-9]*', '--match', '[0-9]*.[0-9]*.[0-9]*']);
  return { nearest: described ? versionFromTag(described) : undefined };
}

/** The app's version and where it came from (see the module comment for the order). */
export async function resolveVersion(context: string, configured?: string): Promise<ResolvedVersion> {
  const tags = await tagVersions(context);
  if (tags.onHead) return { version: tags.onHead, source: 'git tag' };
  const manifest = manifestVersion(context);
  if (manifest) return manifest;
  if (configured) return { version: configured, source: 'pier.yaml app.version' };
  if (tags.nearest) return { version: tags.nearest, source: 'nearest git tag' };
  return { version: '0.0.0', source: 'default' };
}

/** Paths that never make a tree dirty: pier's own run directory and the machine's `.env`. */
export const NEVER_DIRTY = [':(exclude,glob)**/.pier/**', ':(exclude,glob)**/.env'];

/** Changed paths from `git status --porcelain=v1 -z --no-renames` (relative to the repo root) (pure). */
export function parsePorcelain(out: string): string[] {
  return out.split('\0').filter(Boolean).map((e) => e.slice(3)).sort();
}

/** Hash of the changed files' paths and current content (a deleted file hashes as deleted). */
export function contentHash(repoRoot: string, paths: string[]): string {
  const h = createHash('sha256');
  for (const p of paths) {
    const abs = join(repoRoot, p);
    h.update(p).update('\0');
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      h.update('<deleted>\0');
      continue;
    }
    if (st.isSymbolicLink()) h.update(`<link>${readlinkSync(abs)}\0`);
    else if (st.isFile()) h.update(readFileSync(abs)).update(`\0${st.mode & 0o111 ? 'x' : '-'}\0`);
    else h.update('<other>\0');
  }
  return h.digest('hex').slice(0, 12);
}

/**
 * Short sha of HEAD and the changes under the app's build context (changes elsewhere in the
 * repository do not change the image): `dirty` plus `dirtyHash` of what changed.
 */
export async function gitState(context: string): Promise<{ sha?: string; dirty: boolean; dirtyHash?: string }> {
  const head = await git(context, ['rev-parse', '--short=7', 'HEAD']);
  if (head === undefined) return { dirty: false };
  const top = (await git(context, ['rev-parse', '--show-toplevel']))?.trim();
  const st = await git(context, ['status', '--porcelain=v1', '-z', '--no-renames', '--untracked-files=all', '--', '.', ...NEVER_DIRTY]);
  const paths = parsePorcelain(st ?? '');
  if (!paths.length || !top) return { sha: head.trim(), dirty: false };
  return { sha: head.trim(), dirty: true, dirtyHash: contentHash(top, paths) };
}

/** Version, its source and the image tag of the app's tree (what build and deploy agree on). */
export async function imageVersion(context: string, configured?: string): Promise<ResolvedVersion & { tag: string; sha?: string; dirty: boolean }> {
  const [v, g] = await Promise.all([resolveVersion(context, configured), gitState(context)]);
  return { ...v, tag: imageTag(v.version, g.sha, g.dirtyHash ?? g.dirty), sha: g.sha, dirty: g.dirty };
}
