/**
 * Image pruning on a host as one `sh -c` script (pure builder + output parser). The decision runs
 * host-side, in the same moment as the listing it is based on: an image of the app's repositories
 * goes only when no container on the host (any state, any app: retained releases, running ones, the
 * proxy, accessories) was created from it and it is not one of the protected references (the
 * proxy's and accessories' images). Only the app's own references are removed (`docker rmi REF`):
 * an image another repository also names stays, untagged of the app's names only. Docker itself
 * refuses to remove an image a container uses (no `--force`), a second guard.
 */
import { shScript } from './shell.ts';

/**
 * $1 mode (`list` | `remove`), $2 number of repositories, $3 number of containers to count as gone
 * (a dry run's containers that the same prune would remove), then the repositories, those container
 * names, then the protected references. Prints `candidate <id> <ref> <bytes>` per reference that
 * goes (or would), then (remove) the `docker rmi` report (`Untagged: REF`, `Deleted: ID`). Exits 1
 * when a listing fails (nothing removed). Values reach awk through its environment (no escapes).
 */
const SCRIPT = [
  'mode=$1; n=$2; k=$3; shift 3; repos=; skip=',
  'while [ "$n" -gt 0 ]; do repos="$repos $1"; n=$((n-1)); shift; done',
  'while [ "$k" -gt 0 ]; do skip="$skip /$1"; k=$((k-1)); shift; done',
  'ids=$(docker ps -aq --no-trunc) || exit 1',
  'used=',
  "if [ -n \"$ids\" ]; then used=$(docker inspect --format '{{.Name}} {{.Image}}' $ids) || exit 1; fi",
  "for r in \"$@\"; do used=\"$used\n(protected) $(docker image inspect --format '{{.Id}}' \"$r\" 2>/dev/null)\"; done",
  "images=$(docker image ls --digests --no-trunc --format '{{.ID}} {{.Repository}} {{.Tag}} {{.Digest}}') || exit 1",
  "refs=$(printf '%s\\n' \"$images\" | REPOS=\"$repos\" SKIP=\"$skip\" USED=\"$used\" awk 'BEGIN { split(ENVIRON[\"REPOS\"], r); for (i in r) want[r[i]] = 1; split(ENVIRON[\"SKIP\"], s); for (i in s) gone[s[i]] = 1; n = split(ENVIRON[\"USED\"], u, \"\\n\"); for (i = 1; i <= n; i++) { split(u[i], f, \" \"); if (!(f[1] in gone)) keep[f[2]] = 1 } } ($2 in want) && !($1 in keep) { if ($3 != \"<none>\") print $1, $2 \":\" $3; if ($4 != \"<none>\") print $1, $2 \"@\" $4 }' | sort -u)",
  '[ -n "$refs" ] || exit 0',
  "sizes=$(docker image inspect --format '{{.Id}} {{.Size}}' $(printf '%s\\n' \"$refs\" | cut -d' ' -f1 | sort -u)) || exit 1",
  "printf '%s\\n' \"$refs\" | while read -r id ref; do printf 'candidate %s %s %s\\n' \"$id\" \"$ref\" \"$(printf '%s\\n' \"$sizes\" | awk -v id=\"$id\" '$1 == id { print $2 }')\"; done",
  '[ "$mode" = remove ] || exit 0',
  "docker rmi $(printf '%s\\n' \"$refs\" | cut -d' ' -f2) 2>&1",
  'exit 0',
].join('\n');

export interface ImagePruneSpec {
  /** Repositories of the app's images (`reg:5000/org/app`, `org/app`): nothing else is looked at. */
  repos: readonly string[];
  /** References never removed, whoever uses them (the proxy's image, accessories' images). */
  protect: readonly string[];
  /** Containers counted as gone (a dry run: those the same prune removes first). */
  without?: readonly string[];
}

/** The host-side prune: `list` (dry run: what would go, with sizes) or `remove`. */
export function pruneImages(mode: 'list' | 'remove', spec: ImagePruneSpec): string[] {
  for (const r of spec.repos) if (!/^[^\s:@]+(?::\d+)?(?:\/[^\s:@]+)*$/.test(r)) throw new Error(`pruneImages: not a repository: ${JSON.stringify(r)}`);
  const without = spec.without ?? [];
  return shScript(SCRIPT, mode, String(spec.repos.length), String(without.length), ...spec.repos, ...without, ...spec.protect);
}

export interface PrunedImage {
  id: string;
  refs: string[];
  /** Docker's image size (layers shared with kept images are not freed by removing it). */
  bytes: number;
  /** Remove mode: the image itself was deleted (not only untagged of the app's names). */
  deleted?: boolean;
  /** Remove mode: the app's references docker removed (`Untagged:`); an image another repository names stays. */
  untagged?: string[];
}

/** The script's output -> images (pure). In remove mode, `deleted` from docker's `Deleted: ID` lines. */
export function parsePruneOutput(out: string, mode: 'list' | 'remove'): PrunedImage[] {
  const byId = new Map<string, PrunedImage>();
  const deleted = new Set<string>();
  const untagged = new Set<string>();
  for (const line of out.split('\n')) {
    const c = /^candidate (\S+) (\S+) (\d*)$/.exec(line.trim());
    if (c) {
      const img = byId.get(c[1]!) ?? { id: c[1]!, refs: [], bytes: Number(c[3]) || 0 };
      img.refs.push(c[2]!);
      byId.set(c[1]!, img);
      continue;
    }
    const d = /^Deleted: (sha256:[0-9a-f]+)$/.exec(line.trim());
    if (d) deleted.add(d[1]!);
    const u = /^Untagged: (\S+)$/.exec(line.trim());
    if (u) untagged.add(u[1]!);
  }
  const images = [...byId.values()];
  // docker prints short names for Docker Hub references (`org/app:v1`), as the listing does.
  return mode === 'remove' ? images.map((i) => ({ ...i, deleted: deleted.has(i.id), untagged: i.refs.filter((r) => untagged.has(r)) })) : images;
}

/** The app's image repositories: the registry's (`<registry>/<image>`) and the streamed one (`<image>`). */
export function appRepositories(imageRepo: string, registry?: string): string[] {
  return [...new Set([...(registry ? [`${registry}/${imageRepo}`] : []), imageRepo])];
}
