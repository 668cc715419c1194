import { z } from 'zod';

/** A command as argv (preferred) or a single shell-free string split on spaces. */
export const Command = z
  .union([z.array(z.string().min(1)).min(1), z.string().min(1)])
  .transform((c) => (typeof c === 'string' ? c.split(/\s+/).filter(Boolean) : c))
  .describe('A command as an argv list, e.g. [npm, test]');

const EnvMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

/** A sidecar the app needs (database, cache), started next to it in test and load-test runs. */
export const Service = z
  .strictObject({
    image: z.string().min(1).describe('Image reference, e.g. postgres:16'),
    env: EnvMap.default({}).describe('Environment of the service container'),
    port: z.number().int().min(1).max(65535).describe('Port the service listens on inside its network'),
    healthcheck: Command.optional().describe('Command that exits 0 once the service is ready'),
  })
  .describe('A sidecar service reachable from the app by its name');

/**
 * Data kept on a host across releases. Each host has its own copy: behind a multi-host proxy,
 * state on local disk differs per host (docs/operations.md, "State on local disk").
 */
export const Volume = z
  .strictObject({
    source: z
      .string()
      .regex(/^(?:[a-zA-Z0-9][a-zA-Z0-9_.-]*|\/.*)$/, 'a volume name (letters, digits, _ . -) or an absolute host path')
      .describe('A named volume (created on each host as <app.name>-<source>) or an absolute path on the host'),
    target: z.string().startsWith('/').describe('Absolute path inside the container'),
    readOnly: z.boolean().default(false),
  })
  .describe('A volume mounted into the app containers of a deploy');

export const App = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes').describe('Application name'),
    image: z.string().regex(/^[a-z0-9][a-z0-9._/-]*$/, 'an image repository name without a tag').describe('Image repository (tags are added by the build)'),
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'a semver version such as 1.0.0')
      .optional()
      .describe('Version when HEAD has no semver git tag and the build context no package.json / pyproject.toml version'),
    context: z.string().default('.').describe('Build context, relative to pier.yaml'),
    dockerfile: z.string().default('Dockerfile').describe('Dockerfile, relative to the build context'),
    targets: z
      .strictObject({
        test: z.string().default('test').describe('Dockerfile stage the tests run in'),
        runtime: z.string().default('runtime').describe('Dockerfile stage that is shipped'),
      })
      .default({ test: 'test', runtime: 'runtime' }),
    buildArgs: EnvMap.default({}).describe('Build arguments (--build-arg)'),
    port: z.number().int().min(1).max(65535).describe('Port the app listens on in its container'),
    health: z
      .strictObject({
        path: z.string().startsWith('/').default('/health'),
        timeoutSeconds: z.number().positive().default(60),
      })
      .default({ path: '/health', timeoutSeconds: 60 }),
    test: z
      .strictObject({
        command: Command.describe('Test command, run in the test target (or in the runtime image when the Dockerfile has no test stage)'),
        reports: z
          .array(z.string().min(1))
          .default([])
          .describe('JUnit XML files the test command writes (paths in the test container; relative to its working directory), read into the report'),
      })
      .describe('How the app is tested'),
    migrate: z
      .strictObject({ command: Command.describe('Migration command, run once per deploy as a release step') })
      .optional(),
    env: EnvMap.default({}).describe('Runtime environment for pipeline runs (not secret values)'),
    services: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), Service).default({}).describe('Sidecars by name'),
    volumes: z.array(Volume).default([]).describe('Data that must survive releases on a host, mounted into every release container of the app'),
  })
  .describe('The application pier builds and ships');
