// Writes schema/*.json from the zod definitions in src/config (the single source of truth).
// `npm run schema` regenerates; a unit test fails when the committed files are stale.
import { writeFileSync } from 'node:fs';
import { jsonSchemas } from '../src/config/schema.ts';

for (const [name, schema] of Object.entries(jsonSchemas())) {
  writeFileSync(new URL(`../schema/${name}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schema/${name}`);
}
