import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstFileFromTar } from '../../../src/docker/streams.ts';
import { buildxArgv, saveArgv, sidecarContainerConfig } from '../../../src/engine/docker.ts';
import { repoAndTag } from '../../../src/util/image-ref.ts';
import { buildSpecs } from '../../../src/pipeline/stages/build.ts';

const app = {
  name: 'api',
  image: 'pier/api',
  context: 'examples/api',
  dockerfile: 'Dockerfile',
  targets: { test: 'test', runtime: 'runtime' },
  buildArgs: { NODE_IMAGE: 'node:22-bookworm-slim' },
};

describe('docker commands as data', () => {
  it('builds the runtime and test targets with the CA bundle as a secret, never a build arg', () => {
    const [runtime, test] = buildSpecs(app, '/repo', '1.0.0-abc1234', '/etc/ssl/certs/ca-certificates.crt', true);
    expect(buildxArgv(runtime!, '/tmp/iid')).toEqual([
      'docker', 'buildx', 'build', '--progress=plain', '--load', '--iidfile', '/tmp/iid',
      '-f', '/repo/examples/api/Dockerfile',
      '--target', 'runtime',
      '--build-arg', 'NODE_IMAGE=node:22-bookworm-slim',
      '--secret', 'id=ca,src=/etc/ssl/certs/ca-certificates.crt',
      '-t', 'pier/api:1.0.0-abc1234',
      '--label', 'pier.app=api',
      '--label', 'pier.image=runtime',
      '--label', 'org.opencontainers.image.version=1.0.0-abc1234',
      '/repo/examples/api',
    ]);
    expect(runtime!.exclude).toEqual(['.env', '.pier']);
    expect(test!.target).toBe('test');
    expect(test!.labels?.['pier.image']).toBe('test');
    expect(test!.tags).toEqual(['pier/api:1.0.0-abc1234-test']);
    expect(buildxArgv(test!, '/i', { noCache: true }).slice(-2)).toEqual(['--no-cache', '/repo/examples/api']);
  });

  it('builds only the runtime target when no tests run, and no secret without a CA file', () => {
    const specs = buildSpecs(app, '/repo', 't', undefined, false);
    expect(specs).toHaveLength(1);
    expect(buildxArgv(specs[0]!, '/i')).not.toContain('--secret');
  });

  it('saves and splits references', () => {
    expect(saveArgv('a:b', '/x.tar')).toEqual(['docker', 'save', '-o', '/x.tar', 'a:b']);
    expect(repoAndTag('127.0.0.1:5000/pier/api:1.0.0-abc')).toEqual({ repo: '127.0.0.1:5000/pier/api', tag: '1.0.0-abc' });
    expect(repoAndTag('127.0.0.1:5000/pier/api')).toEqual({ repo: '127.0.0.1:5000/pier/api', tag: 'latest' });
    expect(repoAndTag('redis:7@sha256:00')).toEqual({ repo: 'redis', tag: '7' });
  });

  it('gives a sidecar its name as a network alias and the run labels', () => {
    const c = sidecarContainerConfig({ name: 'postgres', image: 'postgres:16', env: { POSTGRES_DB: 'api' }, port: 5432 }, 'net1', { 'pier.run': 'r1' });
    expect(c).toEqual({
      Image: 'postgres:16',
      Env: ['POSTGRES_DB=api'],
      Labels: { 'pier.run': 'r1', 'pier.role': 'sidecar', 'pier.sidecar': 'postgres' },
      HostConfig: { NetworkMode: 'net1', AutoRemove: false },
      NetworkingConfig: { EndpointsConfig: { net1: { Aliases: ['postgres'] } } },
    });
  });

  it('reads the file out of a tar archive like the one the archive API returns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-tar-'));
    const body = 'x'.repeat(1500);
    writeFileSync(join(dir, 'report.json'), body);
    execFileSync('tar', ['-cf', join(dir, 'a.tar'), '-C', dir, 'report.json']);
    expect(firstFileFromTar(readFileSync(join(dir, 'a.tar')))?.toString()).toBe(body);
    expect(firstFileFromTar(Buffer.alloc(1024))).toBeUndefined();
  });
});
