import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** ../shared beside the checkout: Dagger schema and trivy fixtures. Tests skip when absent. */
export const sharedDir = join(repoRoot, '..', 'shared');
export const hasShared = existsSync(join(sharedDir, 'dagger')) && existsSync(join(sharedDir, 'fixtures'));
export const sharedMissingReason = `../shared is absent (looked in ${sharedDir}): fixture-based tests skipped`;
