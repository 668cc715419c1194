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
