/** Last step of `npm run test:dagger`: print how many recorded queries the schema accepted. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { countFile } from './harness.ts';

// `--reset` (first step of test:dagger): a count left by an earlier run is never reported.
if (process.argv.includes('--reset')) {
  rmSync(countFile, { force: true });
  process.exit(0);
}

if (!existsSync(countFile)) {
  console.error(`dagger contract: no count at ${countFile} (were the contract tests skipped?)`);
  process.exit(1);
}
const { queries, invalid } = JSON.parse(readFileSync(countFile, 'utf8')) as { queries: number; invalid: number };
if (invalid > 0 || queries === 0) {
  console.error(`dagger contract: ${invalid} of ${queries} queries invalid against schema v0.21.8`);
  process.exit(1);
}
console.log(`dagger contract: ${queries} queries valid against schema v0.21.8`);
