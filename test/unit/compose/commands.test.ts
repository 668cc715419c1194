import { describe, expect, it } from 'vitest';
import { buildxArgv, composeArgv, downArgv, logsArgv, portArgv, psArgv, upArgv, type ComposeTarget } from '../../../src/compose/commands.ts';

const t: ComposeTarget = { project: 'pier-staging', files: ['/r/compose/staging.yaml'], envFiles: ['/r/.env', '/r/environments/staging.env'], profiles: ['grafana'] };
const base = ['docker', 'compose', '--ansi', 'never', '-p', 'pier-staging', '--env-file', '/r/.env', '--env-file', '/r/environments/staging.env', '-f', '/r/compose/staging.yaml', '--profile', 'grafana'];

describe('compose argv builders', () => {
  it('puts project, env files (in order), files and profiles before the subcommand', () => {
    expect(composeArgv(t, 'config', '--quiet')).toEqual([...base, 'config', '--quiet']);
    expect(composeArgv({ project: 'p', files: ['/a.yaml', '/b.yaml'], envFiles: [] }, 'ps')).toEqual(['docker', 'compose', '--ansi', 'never', '-p', 'p', '-f', '/a.yaml', '-f', '/b.yaml', 'ps']);
  });

  it('up is detached and removes orphans; --build only when asked', () => {
    expect(upArgv(t)).toEqual([...base, 'up', '--detach', '--remove-orphans']);
    expect(upArgv(t, { build: true })).toEqual([...base, 'up', '--detach', '--remove-orphans', '--build']);
  });

  it('down keeps volumes unless asked', () => {
    expect(downArgv(t)).toEqual([...base, 'down', '--remove-orphans', '--timeout', '10']);
    expect(downArgv(t, { volumes: true, timeoutSeconds: 3 })).toEqual([...base, 'down', '--remove-orphans', '--timeout', '3', '--volumes']);
  });

  it('ps, logs and port', () => {
    expect(psArgv(t)).toEqual([...base, 'ps', '--all', '--format', 'json']);
    expect(logsArgv(t)).toEqual([...base, 'logs', '--no-color']);
    expect(logsArgv(t, { services: ['app', 'nginx'], tail: 20, follow: true })).toEqual([...base, 'logs', '--no-color', '--tail', '20', '--follow', 'app', 'nginx']);
    expect(portArgv(t, 'nginx', 80)).toEqual([...base, 'port', 'nginx', '80']);
  });

  it('buildx builds the runtime target with the CA as a secret, never a build arg', () => {
    expect(
      buildxArgv({ context: '/r/examples/api', dockerfile: '/r/examples/api/Dockerfile', target: 'runtime', tag: 'pier/example-api:latest', buildArgs: { NODE_IMAGE: 'pier.local/node:20' }, caFile: '/etc/ssl/certs/ca-certificates.crt' }),
    ).toEqual([
      'docker', 'buildx', 'build', '--load',
      '--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt',
      '--build-arg', 'NODE_IMAGE=pier.local/node:20',
      '--target', 'runtime', '-f', '/r/examples/api/Dockerfile', '-t', 'pier/example-api:latest', '/r/examples/api',
    ]);
    expect(buildxArgv({ context: 'c', dockerfile: 'c/D', target: 'runtime', tag: 'x:1', buildArgs: {} })).not.toContain('--secret');
  });
});
