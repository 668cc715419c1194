import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { jsonSchemas, PierFile, Environment } from '../../../src/config/schema.ts';
import { renderReference } from '../../../src/config/reference.ts';
import { repoRoot } from '../../helpers/paths.ts';

const committed = (name: string) => JSON.parse(readFileSync(join(repoRoot, 'schema', name), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
/** Every environment file the repository ships. */
const repoEnvs = readdirSync(join(repoRoot, 'environments')).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length));

describe('generated JSON Schema', () => {
  it('committed schema/*.json equal what the zod definitions generate (run `npm run schema`)', () => {
    for (const [name, schema] of Object.entries(jsonSchemas())) expect(committed(name)).toEqual(JSON.parse(JSON.stringify(schema)));
  });

  it('docs/configuration.md is the reference generated from the same definitions', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'configuration.md'), 'utf8');
    expect(doc).toBe(renderReference(JSON.parse(JSON.stringify(jsonSchemas()))));
    expect(doc).toContain('| `pipeline.loadtest.slo.p95Ms` |');
  });

  it('every committed YAML file points editors at its schema', () => {
    expect(readFileSync(join(repoRoot, 'pier.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/schema\/pier\.schema\.json/);
    for (const env of repoEnvs) {
      expect(readFileSync(join(repoRoot, 'environments', `${env}.yaml`), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/environment\.schema\.json/);
    }
  });

  const app = { name: 'demo', image: 'acme/demo', port: 3000, test: { command: ['npm', 'test'] } };
  const pierSamples: [string, unknown][] = [
    ['minimal', { app }],
    ['full pipeline', { app, pipeline: { scan: { failOn: ['CRITICAL'] }, loadtest: { connections: 5, slo: { p95Ms: 100 } } } }],
    ['unknown key', { app: { ...app, prot: 1 } }],
    ['wrong type', { app: { ...app, port: 'x' } }],
    ['missing field', { app: { name: 'demo', port: 1, test: { command: 'npm test' } } }],
    ['bad enum', { app, pipeline: { scan: { failOn: ['SEVERE'] } } }],
    ['out of range', { app: { ...app, port: 70000 } }],
    ['bad pattern', { app: { ...app, name: 'Bad Name' } }],
  ];
  const envSamples: [string, unknown][] = [
    ['empty', {}],
    ['hosts', { hosts: [{ name: 'web1', address: '10.0.0.1', port: 2222 }], deploy: { strategy: 'canary' } }],
    ['bad host', { hosts: [{ name: 'web1' }] }],
    ['bad strategy', { deploy: { strategy: 'yolo' } }],
    ['unknown', { hostz: [] }],
  ];

  it.each(pierSamples)('pier.yaml sample "%s": JSON Schema and validator agree', (_n, sample) => {
    expect(ajv.validate(committed('pier.schema.json'), sample)).toBe(PierFile.safeParse(sample).success);
  });
  it.each(envSamples)('environment sample "%s": JSON Schema and validator agree', (_n, sample) => {
    expect(ajv.validate(committed('environment.schema.json'), sample)).toBe(Environment.safeParse(sample).success);
  });

  it('the repository\'s own files are valid under the JSON Schema', () => {
    expect(ajv.validate(committed('pier.schema.json'), parse(readFileSync(join(repoRoot, 'pier.yaml'), 'utf8')))).toBe(true);
    for (const env of repoEnvs) {
      const doc = parse(readFileSync(join(repoRoot, 'environments', `${env}.yaml`), 'utf8')) ?? {};
      expect(ajv.validate(committed('environment.schema.json'), doc), JSON.stringify(ajv.errors)).toBe(true);
    }
  });
});
