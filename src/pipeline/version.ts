/** The image tag: the app's semver + short git sha (+ `-dirty` when the app's tree has changes). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../util/errors.ts';
import { exec } from '../util/exec.ts';

/** `1.2.3-abc1234`, `1.2.3-abc1234-dirty`, or `1.2.3-nogit` outside a git checkout (pure). */
export function imageTag(version: string, sha: string | undefined, dirty: boolean): string {
  if (!sha) return `${version}-nogit`;
  return `${version}-${sha}${dirty ? '-dirty' : ''}`;
}

/** The `version` of the app's package.json (a located config error when absent or not semver). */
export function appVersion(context: string): string {
  const file = join(context, 'package.json');
  let pkg: { version?: unknown };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ file, path: 'version', message: `cannot read the app's package.json: ${(err as Error).message}` }]);
  }
  if (typeof pkg.version !== 'string' || !/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(pkg.version)) {
    throw new ConfigError([{ file, path: 'version', message: `expected a semver string such as "1.0.0", got ${JSON.stringify(pkg.version)}` }]);
  }
  return pkg.version;
}

/** Short sha of HEAD and whether the app's directory has uncommitted changes. */
export async function gitState(context: string): Promise<{ sha?: string; dirty: boolean }> {
  const head = await exec(['git', '-C', context, 'rev-parse', '--short=7', 'HEAD'], { nothrow: true }).catch(() => undefined);
  if (!head || head.code !== 0) return { dirty: false };
  // Scoped to the app's build context: changes elsewhere in the repository do not change the image.
  const st = await exec(['git', '-C', context, 'status', '--porcelain', '--', '.'], { nothrow: true });
  return { sha: head.stdout.trim(), dirty: st.stdout.trim() !== '' };
}
