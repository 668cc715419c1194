/**
 * Image references, parsed in one place: `[host[:port]/]path[:tag][@digest]`. A registry port's
 * colon is not a tag separator (the tag is after the last `/`).
 */
export interface ImageRef {
  /** Everything before the tag and digest, e.g. `127.0.0.1:5000/pier/api`. */
  repository: string;
  tag?: string;
  /** `sha256:...` when the reference pins one. */
  digest?: string;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const out: ImageRef = colon > slash ? { repository: name.slice(0, colon), tag: name.slice(colon + 1) } : { repository: name };
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** `pier/example-api:1.2.3-abc` -> `pier/example-api`. */
export const repositoryOf = (ref: string): string => parseImageRef(ref).repository;

/** Repository and tag (Docker's default `latest` when none is given); a digest is dropped. */
export function repoAndTag(ref: string): { repo: string; tag: string } {
  const { repository, tag } = parseImageRef(ref);
  return { repo: repository, tag: tag ?? 'latest' };
}

/** A content digest as registries and `docker inspect` report it: `sha256:` and 64 hex digits. */
export const isDigest = (s: string): boolean => /^sha256:[0-9a-f]{64}$/.test(s);

/** The digest a reference pins (`repo@sha256:...` -> `sha256:...`); undefined for a tag reference, a malformed digest or none. */
export function digestOf(ref: string | undefined): string | undefined {
  const digest = ref ? parseImageRef(ref).digest : undefined;
  return digest !== undefined && isDigest(digest) ? digest : undefined;
}

/** `ref` pinned to `digest`: `repo@sha256:...` (its tag, and any digest it had, dropped). */
export const pinnedRef = (ref: string, digest: string): string => `${repositoryOf(ref)}@${digest}`;
