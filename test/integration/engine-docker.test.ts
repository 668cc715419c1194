import { afterAll } from 'vitest';
import { docker } from '../../src/docker/client.ts';
import { interpolationVars } from '../../src/config/load.ts';
import { ensureLocalRegistry } from '../../src/docker/registry.ts';
import { DockerEngine } from '../../src/engine/docker.ts';
import { newRunId } from '../../src/util/run-id.ts';
import { engineConformance } from '../conformance/engine-suite.ts';
import { repoRoot } from '../helpers/paths.ts';

const vars = interpolationVars(repoRoot);

/** Containers + networks + volumes labelled with this run. */
export async function dockerLeftovers(runId: string): Promise<number> {
  const filters = JSON.stringify({ label: [`pier.run=${runId}`] });
  const d = docker();
  const [c, n, v] = await Promise.all([d.listContainers({ all: true, filters }), d.listNetworks({ filters }), d.listVolumes({ filters })]);
  return c.length + n.length + (v.Volumes?.length ?? 0);
}

engineConformance('docker', () => new DockerEngine({ runId: newRunId() }), {
  images: { node: vars.PIER_NODE_IMAGE ?? 'node:22-bookworm-slim', redis: vars.PIER_REDIS_IMAGE ?? 'redis:7' },
  registry: '127.0.0.1:5000',
  prepareRegistry: async () => void (await ensureLocalRegistry('127.0.0.1:5000', vars.PIER_REGISTRY_IMAGE ?? 'registry:2')),
  leftovers: dockerLeftovers,
});

// The suite tags images pier-conformance/docker:<runId> (and the registry copy): untag them after.
afterAll(async () => {
  const d = docker();
  for (const ref of ['pier-conformance/docker', '127.0.0.1:5000/pier-conformance/docker']) {
    for (const img of await d.listImages({ filters: JSON.stringify({ reference: [ref] }) })) {
      for (const tag of img.RepoTags ?? []) if (tag.startsWith(`${ref}:`)) await d.getImage(tag).remove().catch(() => undefined);
    }
  }
});
