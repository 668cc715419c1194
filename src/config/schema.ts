import { z } from 'zod';
import { App } from './sections/app.ts';
import { Pipeline } from './sections/pipeline.ts';
import { Environment } from './sections/environment.ts';
import { Hooks } from './sections/hooks.ts';

export { App, Pipeline, Environment };

/** pier.yaml at the repository root. */
export const PierFile = z
  .strictObject({
    $schema: z.string().optional(),
    app: App,
    pipeline: Pipeline.default(Pipeline.parse({})),
    hooks: Hooks.optional(),
  })
  .describe('pier.yaml: the application and its pipeline');

export type PierFile = z.output<typeof PierFile>;
export type AppConfig = z.output<typeof App>;
export type PipelineConfig = z.output<typeof Pipeline>;
export type EnvironmentConfig = z.output<typeof Environment>;

/** The resolved configuration every command works from. */
export interface Config extends PierFile {
  /** Absolute directory holding pier.yaml; relative paths resolve against it. */
  root: string;
  file: string;
  env?: { name: string; file: string } & EnvironmentConfig;
}

/** JSON Schemas for editors, generated from the same definitions the validator uses. */
export function jsonSchemas(): Record<string, unknown> {
  const opts = { io: 'input', unrepresentable: 'any' } as const;
  return {
    'pier.schema.json': { title: 'pier.yaml', ...z.toJSONSchema(PierFile, opts) },
    'environment.schema.json': { title: 'environments/<name>.yaml', ...z.toJSONSchema(Environment, opts) },
  };
}
