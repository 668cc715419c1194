import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Data the tests read, carried by the project itself (provenance in test/fixtures/README.md). */
export const fixturesDir = join(repoRoot, 'test', 'fixtures');
/** Real trivy reports (Apache-2.0, Aqua Security). */
export const trivyReportsDir = join(fixturesDir, 'trivy-reports');
/** The GraphQL schema Dagger v0.21.8 serves (Apache-2.0, Dagger Inc.). */
export const daggerSchemaFile = join(fixturesDir, 'dagger', 'schema-v0.21.8.graphqls');
