/**
 * When pier last built each image of an app, kept in `.pier/builds.json` of the app's repo.
 * Why not the image's Created time: BuildKit dates an image by its newest layer, so a build whose
 * layers all come from cache (the same sources as a week ago) looks a week old, and image pruning
 * would keep the wrong three. Only builds write here; a publish or push re-tagging an old image
 * does not make it new.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Per app: image id -> when pier last built it (ms since epoch). */
export type BuildTimes = Record<string, Record<string, number>>;

/** Images remembered per app: enough for any keep count pier uses, bounded so the file stays small. */
export const REMEMBERED = 50;

export function buildRecordPath(root: string): string {
  return join(root, '.pier', 'builds.json');
}

/** The record; a missing or unreadable file is an empty one (the record only refines an order). */
export function readBuildTimes(root: string): BuildTimes {
  try {
    const parsed = JSON.parse(readFileSync(buildRecordPath(root), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as BuildTimes) : {};
  } catch {
    return {};
  }
}

/** The record with `ids` of `app` built at `at`, the app's oldest entries beyond REMEMBERED dropped (pure). */
export function withBuilds(times: BuildTimes, app: string, ids: readonly string[], at: number): BuildTimes {
  const mine = { ...(times[app] ?? {}) };
  for (const id of ids) mine[id] = at;
  const newest = Object.entries(mine).sort((a, b) => b[1] - a[1]).slice(0, REMEMBERED);
  return { ...times, [app]: Object.fromEntries(newest) };
}

/** Remember that `ids` of `app` were just built (written whole, then renamed: never half a file). */
export function recordBuilds(root: string, app: string, ids: readonly string[], at = Date.now()): BuildTimes {
  const next = withBuilds(readBuildTimes(root), app, ids, at);
  const file = buildRecordPath(root);
  mkdirSync(join(root, '.pier'), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(next, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return next;
}
