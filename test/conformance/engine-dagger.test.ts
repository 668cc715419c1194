/**
 * The Engine conformance suite against Dagger. It needs a real Dagger engine (a session in
 * DAGGER_SESSION_PORT, e.g. `dagger run npx vitest run test/conformance`, or a `dagger` CLI on
 * PATH); everywhere else it is skipped with the reason. A recording server cannot stand in here:
 * the suite checks behaviour (exit codes, files, secrets out of layers), not queries.
 */
import { openDaggerEngine } from '../../src/engine/dagger.ts';
import { selectEngine } from '../../src/engine/select.ts';
import { findOnPath } from '../../src/util/find-on-path.ts';
import { newRunId } from '../../src/util/run-id.ts';
import { engineConformance } from './engine-suite.ts';

const cli = findOnPath('dagger');
const decision = selectEngine('auto', process.env, cli);
const skip = decision.engine === 'dagger' ? undefined : 'no Dagger engine here (DAGGER_SESSION_PORT unset and no dagger CLI on PATH)';

engineConformance('dagger', () => openDaggerEngine({ runId: newRunId(), cliPath: decision.cliPath }), {
  skip,
  images: { node: process.env.PIER_DAGGER_NODE_IMAGE ?? 'node:22-bookworm-slim', redis: process.env.PIER_DAGGER_REDIS_IMAGE ?? 'redis:7' },
  // Pushes go from inside the engine: a registry it can reach (ttl.sh keeps images for a limited time).
  registry: process.env.PIER_DAGGER_REGISTRY ?? 'ttl.sh',
  // Dagger creates nothing on the local Docker engine: containers and services live in the Dagger engine.
  leftovers: async () => 0,
});
