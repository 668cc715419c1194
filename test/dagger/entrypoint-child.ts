/**
 * Child process of the contract tests: the SDK's own module entrypoint (what the generated
 * `__dagger.entrypoint.ts` runs in the module runtime) against the recording server. Run with
 * `tsx --tsconfig dagger/tsconfig.json` like the runtime does.
 */
import { entrypoint } from '@dagger.io/dagger';
import { moduleFiles } from './sdk-standin.ts';

await entrypoint(moduleFiles());
