/**
 * `pier accessory boot|reboot|stop|logs|status <env> [name]`: services (PostgreSQL, Redis...) pier
 * runs on named hosts beside the app. Boot starts what is absent or stopped and leaves a running
 * one alone; reboot recreates the container (its named volumes keep the data); a deploy or
 * rollback never touches them (different labels, see commands/accessory.ts).
 */
import type { EnvironmentConfig } from '../config/schema.ts';
import { UsageError } from '../util/errors.ts';
import { registerSecret } from '../util/redact.ts';
import { accessoryContainer, accessoryEnvFile, runAccessory } from './commands/accessory.ts';
import { withHosts } from './fleet.ts';
import type { HostOps } from './host-ops.ts';
import { secretsOf } from './runtime-env.ts';
import type { DeployTarget } from './target.ts';

export type AccessoryConfig = EnvironmentConfig['accessories'][string];

export interface AccessoryReport {
  name: string;
  host: string;
  container: string;
  /** running, exited, absent... */
  state: string;
  startedAt?: string;
  id?: string;
  /** What this command did: booted, started, already running, recreated, stopped, unchanged. */
  action?: string;
  health?: string;
  ok: boolean;
  detail?: string;
}

/** The accessories of the environment (all, or the one named), each with its config. */
export function selectAccessories(target: DeployTarget, name?: string): [string, AccessoryConfig][] {
  const all = Object.entries(target.config?.env?.accessories ?? {});
  if (!all.length) throw new UsageError(`environments/${target.envName}.yaml has no accessories`);
  if (name === undefined) return all;
  const one = all.filter(([n]) => n === name);
  if (!one.length) throw new UsageError(`no accessory "${name}" in environments/${target.envName}.yaml (accessories: ${all.map(([n]) => n).join(', ')})`);
  return one;
}

/** Run `fn` for each selected accessory, connected only to the hosts they run on. */
async function each(target: DeployTarget, name: string | undefined, fn: (o: HostOps, name: string, a: AccessoryConfig) => Promise<AccessoryReport>, perHost?: (o: HostOps) => Promise<void>): Promise<AccessoryReport[]> {
  const chosen = selectAccessories(target, name);
  const hostNames = new Set(chosen.map(([, a]) => a.host));
  const sub = { ...target, hosts: target.hosts.filter((h) => hostNames.has(h.name)) };
  return withHosts(sub, async (ops) => {
    // Once per host before its accessories (in parallel): creating the network twice at once
    // makes two networks of one name.
    const ready = new Map(ops.map((o) => [o.name, perHost ? perHost(o) : Promise.resolve()]));
    return Promise.all(chosen.map(async ([n, a]) => {
      const o = ops.find((x) => x.name === a.host)!;
      try {
        await ready.get(o.name);
        return await fn(o, n, a);
      } catch (e) {
        return { name: n, host: a.host, container: accessoryContainer(target.app, n), state: 'unknown', ok: false, detail: (e as Error).message };
      }
    }));
  });
}

async function stateOf(o: HostOps, app: string, n: string): Promise<Pick<AccessoryReport, 'container' | 'state' | 'startedAt' | 'id'>> {
  const container = accessoryContainer(app, n);
  const s = await o.accessoryState(container);
  return { container, ...(s ?? { state: 'absent' }) };
}

/** Create (env file up, run, env file removed) or start the accessory, then wait for its health command. */
async function bootOne(target: DeployTarget, o: HostOps, n: string, a: AccessoryConfig, recreate: boolean): Promise<AccessoryReport> {
  const before = await stateOf(o, target.app, n);
  let action: string;
  if (recreate && before.state !== 'absent') await o.remove(before.container);
  if (!recreate && before.state === 'running') action = 'already running';
  else if (!recreate && before.state !== 'absent') {
    await o.restart({ version: '', image: a.image, container: before.container });
    action = 'started';
  } else {
    for (const s of secretsOf(a.env)) registerSecret(s);
    const envFile = Object.keys(a.env).length ? accessoryEnvFile(target.settings.dir, target.app, n) : undefined;
    await o.createAccessory(runAccessory({ app: target.app, name: n, image: a.image, port: a.port, bind: a.bind, volumes: a.volumes, envFile, command: a.command, logging: target.settings.logging }), envFile, Object.entries(a.env).map(([k, v]) => `${k}=${v}\n`).join(''));
    action = recreate && before.state !== 'absent' ? 'recreated' : 'booted';
  }
  if (a.health) await o.waitCommand(before.container, a.health.command, a.health.timeoutSeconds);
  return { name: n, host: a.host, ...(await stateOf(o, target.app, n)), action, ...(a.health ? { health: 'healthy' } : {}), ok: true };
}

export function bootAccessories(target: DeployTarget, name?: string, opts: { recreate?: boolean } = {}): Promise<AccessoryReport[]> {
  return each(target, name, (o, n, a) => bootOne(target, o, n, a, Boolean(opts.recreate)), (o) => o.ensureBase());
}

export function stopAccessories(target: DeployTarget, name?: string): Promise<AccessoryReport[]> {
  return each(target, name, async (o, n, a) => {
    const container = accessoryContainer(target.app, n);
    await o.stop(container, 30);
    return { name: n, host: a.host, ...(await stateOf(o, target.app, n)), action: 'stopped', ok: true };
  });
}

export function accessoryStatus(target: DeployTarget, name?: string): Promise<AccessoryReport[]> {
  return each(target, name, async (o, n, a) => {
    const s = await stateOf(o, target.app, n);
    const health = s.state !== 'running' ? undefined : a.health ? ((await o.commandPasses(s.container, a.health.command)) ? 'healthy' : 'unhealthy') : undefined;
    return { name: n, host: a.host, ...s, ...(health ? { health } : {}), ok: s.state === 'running' && health !== 'unhealthy' };
  });
}

export async function accessoryLogs(target: DeployTarget, name: string | undefined, lines: number): Promise<{ name: string; host: string; logs: string }[]> {
  const chosen = selectAccessories(target, name);
  const hostNames = new Set(chosen.map(([, a]) => a.host));
  return withHosts({ ...target, hosts: target.hosts.filter((h) => hostNames.has(h.name)) }, (ops) => Promise.all(chosen.map(async ([n, a]) => ({ name: n, host: a.host, logs: await ops.find((x) => x.name === a.host)!.containerLogs(accessoryContainer(target.app, n), lines) }))));
}
