/**
 * Get a release's image onto every host at once, before any traffic moves.
 *   - registry: every host pulls the tag at the same time (layers download in parallel); the first
 *     host's resolved digest is the release (`repo@sha256:...`) and every host runs that digest. A
 *     host whose pull resolved the tag to other bytes (the tag moved mid-pull) fetches the digest.
 *   - streamed: one local `docker save` file, `docker load`ed on every host at the same time.
 */
import { createReadStream } from 'node:fs';
import type { HostOps } from './host-ops.ts';

export type ImageSource =
  | { kind: 'registry'; /** `registry/repo:tag` as the hosts see it. */ ref: string }
  | { kind: 'stream'; /** `repo:tag` inside the saved file. */ ref: string; /** `docker save` output on this machine. */ file: string };

/**
 * A memoised per-host fetch: `fetch(host)` resolves to the image reference that host's container
 * must run. `hosts[0]` resolves the digest; calling `fetch` for another host first starts it too.
 */
export function imageFetcher(hosts: readonly HostOps[], source: ImageSource): (host: HostOps) => Promise<string> {
  const started = new Map<HostOps, Promise<string>>();
  const first = hosts[0];
  const fetchOne = async (o: HostOps): Promise<string> => {
    if (source.kind === 'stream') {
      await o.loadImage(createReadStream(source.file));
      return source.ref;
    }
    if (o === first) return o.pull(source.ref);
    const [own, digest] = await Promise.all([o.pull(source.ref), first ? fetch(first) : Promise.resolve(source.ref)]);
    if (own !== digest) await o.ensureImage(digest);
    return digest;
  };
  const fetch = (o: HostOps): Promise<string> => {
    let p = started.get(o);
    if (!p) {
      p = fetchOne(o);
      started.set(o, p);
    }
    return p;
  };
  return fetch;
}
