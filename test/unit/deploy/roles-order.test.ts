// Role order and role settings (resolveRoles) and the accessory command builders: the cases the
// sim-fleet tests in roles.test.ts leave out (mutation testing's survivors).
import { describe, expect, it } from 'vitest';
import { Environment } from '../../../src/config/sections/environment.ts';
import { accessoryContainer, accessoryEnvFile, accessoryState, accessoryVolume, runAccessory } from '../../../src/deploy/commands/accessory.ts';
import { resolveRoles } from '../../../src/deploy/target.ts';
import { ConfigError } from '../../../src/util/errors.ts';

const HOSTS = ['web1', 'web2', 'web3'];
const env = (o: Record<string, unknown>) => Environment.parse({ hosts: [], ...o });
const issues = (o: Record<string, unknown>, hosts = HOSTS) => {
  try {
    resolveRoles(env(o), hosts, 'environments/production.yaml');
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.file} ${i.path}: ${i.message}`);
  }
};

describe('role order', () => {
  it('default: web first, then the others in the order written (not alphabetical); the roles list leaves web out', () => {
    const r = resolveRoles(env({ roles: { worker: {}, scheduler: {}, web: {} } }), HOSTS, 'e.yaml');
    expect(r.roleOrder).toEqual(['web', 'worker', 'scheduler']);
    expect(r.roles.map((x) => x.name)).toEqual(['worker', 'scheduler']);
  });
  it('roleOrder decides, the roles list follows it', () => {
    const r = resolveRoles(env({ roles: { web: {}, worker: {}, scheduler: {} }, roleOrder: ['scheduler', 'web', 'worker'] }), HOSTS, 'e.yaml');
    expect(r.roleOrder).toEqual(['scheduler', 'web', 'worker']);
    expect(r.roles.map((x) => x.name)).toEqual(['scheduler', 'worker']);
  });
  it('without web: no web hosts, the others only', () => {
    expect(resolveRoles(env({ roles: { worker: { hosts: ['web2'] } } }), HOSTS, 'e.yaml')).toEqual({
      webHosts: [], roleOrder: ['worker'], roles: [{ name: 'worker', hosts: ['web2'], env: {}, stopSignal: 'SIGTERM', drainSeconds: 30 }],
    });
  });
  it('a roleOrder naming a role that does not exist, or leaving several out, names both', () => {
    expect(issues({ roles: { web: {}, worker: {} }, roleOrder: ['web', 'cron'] })).toEqual(['environments/production.yaml roleOrder: expected every role once (web, worker); missing worker; not a role: cron']);
    expect(issues({ roles: { web: {}, worker: {}, cron: {} }, roleOrder: ['ghost'] })).toEqual(['environments/production.yaml roleOrder: expected every role once (web, worker, cron); missing web, worker, cron; not a role: ghost']);
    expect(issues({ roles: { web: {} }, roleOrder: ['web', 'worker', 'cron'] })).toEqual(['environments/production.yaml roleOrder: expected every role once (web); not a role: worker, cron']);
  });
  it('every wrong host of every role is named with its index; web hosts too', () => {
    expect(issues({ roles: { web: { hosts: ['web1', 'db1'] }, worker: { hosts: ['x', 'web2', 'y'] } } }, ['web1', 'web2'])).toEqual([
      'environments/production.yaml roles.web.hosts[1]: expected a host name from hosts (web1, web2), got "db1"',
      'environments/production.yaml roles.worker.hosts[0]: expected a host name from hosts (web1, web2), got "x"',
      'environments/production.yaml roles.worker.hosts[2]: expected a host name from hosts (web1, web2), got "y"',
    ]);
  });
  it('an empty roles map is refused', () => {
    expect(issues({ roles: {} })).toEqual(['environments/production.yaml roles: expected at least one role (web, or a worker)']);
  });
  it("a role's settings carried over: command, env, stop signal, drain, health with its defaults", () => {
    const r = resolveRoles(env({ roles: { worker: { command: ['node', 'w.js'], env: { QUEUE: 'jobs', N: 2 }, stopSignal: 'SIGQUIT', drainSeconds: 0, health: { command: ['true'] } }, cron: { health: { command: ['check'], timeoutSeconds: 5, intervalSeconds: 2 } }, mail: { drainSeconds: 45 } } }), HOSTS, 'e.yaml');
    expect(r.roles).toEqual([
      { name: 'worker', hosts: HOSTS, command: ['node', 'w.js'], env: { QUEUE: 'jobs', N: '2' }, stopSignal: 'SIGQUIT', drainSeconds: 0, health: { command: ['true'], timeoutSeconds: 60, intervalSeconds: 1 } },
      { name: 'cron', hosts: HOSTS, env: {}, stopSignal: 'SIGTERM', drainSeconds: 30, health: { command: ['check'], timeoutSeconds: 5, intervalSeconds: 2 } },
      { name: 'mail', hosts: HOSTS, env: {}, stopSignal: 'SIGTERM', drainSeconds: 45 },
    ]);
    expect(r.roles[1]).not.toHaveProperty('command');
    expect(r.webHosts).toEqual([]);
  });
});

describe('accessory commands', () => {
  it('names, env file path (trailing slashes of the dir dropped), volumes', () => {
    expect(accessoryContainer('api', 'db')).toBe('api-db');
    expect(accessoryEnvFile('/var/lib/pier//', 'api', 'db')).toBe('/var/lib/pier/api/accessories/db/db.env');
    expect(accessoryEnvFile('/srv', 'api', 'cache')).toBe('/srv/api/accessories/cache/cache.env');
    expect(accessoryVolume('api', 'pgdata:/data')).toBe('api-pgdata:/data');
    expect(accessoryVolume('api', '/srv/x:/x:ro')).toBe('/srv/x:/x:ro');
  });
  it('the smallest accessory: no port, env file, volume or command; labels that keep it out of release listings', () => {
    expect(runAccessory({ app: 'api', name: 'cache', image: 'redis:7', bind: '127.0.0.1', volumes: [] })).toEqual([
      'docker', 'run', '--detach', '--name', 'api-cache', '--network', 'pier', '--restart', 'unless-stopped',
      '--label', 'pier.accessory=cache', '--label', 'pier.accessory.app=api', 'redis:7',
    ]);
  });
  it('everything: published on the bind address, env file, volumes, then the image and its command', () => {
    expect(runAccessory({ app: 'api', name: 'db', image: 'postgres:16', port: 5432, bind: '10.0.0.5', volumes: ['pg:/d', '/h:/c:ro'], envFile: '/e/db.env', command: ['postgres', '-c', 'fsync=on'] })).toEqual([
      'docker', 'run', '--detach', '--name', 'api-db', '--network', 'pier', '--restart', 'unless-stopped',
      '--label', 'pier.accessory=db', '--label', 'pier.accessory.app=api',
      '--publish', '10.0.0.5:5432:5432', '--env-file', '/e/db.env', '--volume', 'api-pg:/d', '--volume', '/h:/c:ro',
      'postgres:16', 'postgres', '-c', 'fsync=on',
    ]);
  });
  it('state, start time and id in one inspect', () => {
    expect(accessoryState('api-db')).toEqual(['docker', 'inspect', '--format', '{{.State.Status}} {{.State.StartedAt}} {{.Id}}', 'api-db']);
  });
});
