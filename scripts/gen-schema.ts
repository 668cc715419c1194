// Writes schema/*.json and docs/configuration.md from the zod definitions in src/config (the single
// source of truth). `npm run schema` regenerates; a unit test fails when the committed files are stale.
import { writeFileSync } from 'node:fs';
import { jsonSchemas } from '../src/config/schema.ts';
import { renderReference } from '../src/config/reference.ts';

const schemas = jsonSchemas();
for (const [name, schema] of Object.entries(schemas)) {
  writeFileSync(new URL(`../schema/${name}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schema/${name}`);
}
writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderReference(JSON.parse(JSON.stringify(schemas))));
console.log('wrote docs/configuration.md');
