/** pier's own package directory (holds package.json, schema/, scripts/images/): the same from src/ and dist/. */
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
