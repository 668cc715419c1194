/**
 * The simulated production fleet for pier's own tests and benchmarks. The fleet itself lives in
 * src/dev-hosts/ (it is `pier dev-hosts`); this adds what only tests need: the images resolved
 * from this checkout, a throwaway project pointing at a fleet, and the deploy test app.
 */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { interpolationVars, loadConfig } from '../../src/config/load.ts';
import { resolveTarget, type DeployTarget } from '../../src/deploy/target.ts';
import { fleetEnvironment, type FleetEnvironmentOptions } from '../../src/dev-hosts/environment.ts';
import { downByRunId, fleetImages, startFleet as startDevFleet, type Fleet } from '../../src/dev-hosts/fleet.ts';
import { BASE_IMAGE } from '../../src/machine/images.ts';
import { exec } from '../../src/util/exec.ts';
import { repoRoot } from './paths.ts';

export type { Fleet, FleetHost } from '../../src/dev-hosts/fleet.ts';
export { downByRunId };

const vars = interpolationVars(repoRoot);
export const images = fleetImages(vars);
/** The Debian base of the stand-ins (the proxy image's base on the hosts), else the slim public one. */
export const baseImage = vars[BASE_IMAGE.env] || 'debian:bookworm-slim';

/** Start a fleet of `count` hosts with this checkout's images (see src/dev-hosts/fleet.ts). */
export function startFleet(opts: { count?: number; log?: (s: string) => void; services?: boolean } = {}): Promise<Fleet> {
  return startDevFleet({ ...opts, images });
}

export interface ProjectOptions extends Omit<FleetEnvironmentOptions, 'envFile'> {
  app?: string;
  image?: string;
  migrate?: string[];
  env?: Record<string, string>;
  /** Merged over the `app:` section (port, health, volumes...). */
  appSettings?: Record<string, unknown>;
  /** Merged over the `deploy:` section (strategy, blueGreen, canary...). */
  deploy?: Record<string, unknown>;
  /** Extra top-level keys of environments/production.yaml (e.g. `backup`). */
  environment?: Record<string, unknown>;
}

/** Write a project (pier.yaml + environments/production.yaml + production.env) pointing at the fleet; returns its pier.yaml. */
export function writeProject(fleet: Fleet, o: ProjectOptions = {}): string {
  const root = mkdtempSync(join(fleet.dir, 'project-'));
  mkdirSync(join(root, 'environments'));
  writeFileSync(
    join(root, 'pier.yaml'),
    stringify({
      app: {
        name: o.app ?? 'deploy-app',
        image: o.image ?? 'pier-test/deploy-app',
        port: 3000,
        health: { path: '/health', timeoutSeconds: 30 },
        test: { command: ['true'] },
        ...(o.migrate ? { migrate: { command: o.migrate } } : {}),
        ...o.appSettings,
      },
    }),
  );
  writeFileSync(join(root, 'environments', 'production.env'), Object.entries(o.env ?? { SECRET_TOKEN: 's3cr3t-value-never-printed' }).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  const environment = fleetEnvironment(fleet, { ...o, envFile: 'environments/production.env' });
  environment.deploy = { ...(environment.deploy as Record<string, unknown>), ...o.deploy };
  writeFileSync(join(root, 'environments', 'production.yaml'), stringify({ ...environment, ...o.environment }));
  return join(root, 'pier.yaml');
}

/** The deploy target of a project written by `writeProject` (environment `production`). */
export function deployTarget(configFile: string, by = 'tester@ci'): DeployTarget {
  return resolveTarget(loadConfig({ configFile, env: 'production', vars: {} }), { by });
}

/** Build the test app image (cached after the first build); behaviour switches are build args. */
export async function buildTestApp(tag: string, o: { failRate?: number; neverHealthy?: boolean; failAfterSeconds?: number } = {}): Promise<void> {
  await exec([
    'docker', 'buildx', 'build', '--load', '--quiet',
    '--build-arg', `NODE_IMAGE=${images.node}`,
    '--build-arg', `BASE_IMAGE=${baseImage}`,
    '--build-arg', `FAIL_RATE=${o.failRate ?? 0}`,
    '--build-arg', `NEVER_HEALTHY=${o.neverHealthy ? 1 : 0}`,
    '--build-arg', `FAIL_AFTER_SECONDS=${o.failAfterSeconds ?? 0}`,
    '--target', 'runtime', '-t', tag, join(repoRoot, 'test/fixtures/deploy-app'),
  ]);
}

