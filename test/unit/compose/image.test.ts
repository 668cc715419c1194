import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/schema.ts';
import { appImagesIn, runtimeBuild } from '../../../src/compose/image.ts';
import { digestOf, isDigest, parseImageRef, pinnedRef, repositoryOf } from '../../../src/util/image-ref.ts';

describe('repositoryOf', () => {
  it('strips tag and digest, not a registry port', () => {
    expect(repositoryOf('pier/example-api:1.2.3-abc')).toBe('pier/example-api');
    expect(repositoryOf('127.0.0.1:5000/pier/example-api:latest')).toBe('127.0.0.1:5000/pier/example-api');
    expect(repositoryOf('127.0.0.1:5000/pier/example-api')).toBe('127.0.0.1:5000/pier/example-api');
    expect(repositoryOf('pier/example-api@sha256:abcd')).toBe('pier/example-api');
  });
  it('parseImageRef splits repository, tag and digest', () => {
    expect(parseImageRef('127.0.0.1:5000/pier/api:1.0@sha256:ab')).toEqual({ repository: '127.0.0.1:5000/pier/api', tag: '1.0', digest: 'sha256:ab' });
    expect(parseImageRef('reg:5000/app@sha256:cd')).toEqual({ repository: 'reg:5000/app', digest: 'sha256:cd' });
    expect(parseImageRef('redis')).toEqual({ repository: 'redis' });
  });
  it('digestOf takes the digest of a digest reference only; pinnedRef pins a reference to one', () => {
    const d = `sha256:${'b'.repeat(64)}`;
    expect(digestOf(`reg:5000/acme/demo@${d}`)).toBe(d);
    expect(digestOf(`reg:5000/acme/demo:v2@${d}`)).toBe(d);
    for (const ref of ['acme/demo:v2', 'reg:5000/acme/demo', 'acme/demo@sha256:abc', `acme/demo@sha256:${'B'.repeat(64)}`, '', undefined]) expect(digestOf(ref), String(ref)).toBeUndefined();
    expect(isDigest(d)).toBe(true);
    expect(isDigest(`${d}0`)).toBe(false);
    expect(pinnedRef('127.0.0.1:5000/pier/api:v1', d)).toBe(`127.0.0.1:5000/pier/api@${d}`);
    expect(pinnedRef(`127.0.0.1:5000/pier/api@sha256:${'a'.repeat(64)}`, d)).toBe(`127.0.0.1:5000/pier/api@${d}`);
    expect(pinnedRef('127.0.0.1:5000/pier/api', d)).toBe(`127.0.0.1:5000/pier/api@${d}`);
  });
});

describe('appImagesIn', () => {
  it('selects services running the app repository without a build section of their own', () => {
    const model = {
      services: {
        app: { image: 'pier/example-api:1.0.0-abc' },
        worker: { image: 'pier/example-api:1.0.0-abc' },
        api: { image: 'pier/example-api:dev', build: { context: '.' } },
        nginx: { image: 'nginx:1.27' },
        other: { image: 'pier/example-api-other:1' },
      },
    };
    expect(appImagesIn(model, 'pier/example-api')).toEqual(['pier/example-api:1.0.0-abc']);
    expect(appImagesIn({}, 'pier/example-api')).toEqual([]);
  });
});

describe('runtimeBuild', () => {
  const cfg = { root: '/repo', app: { context: 'examples/api', dockerfile: 'Dockerfile', targets: { runtime: 'runtime', test: 'test' }, buildArgs: { NODE_IMAGE: 'n:1' } } } as unknown as Config;

  it('builds the runtime target from pier.yaml, CA secret only when the bundle exists', () => {
    expect(runtimeBuild(cfg, 'pier/example-api:latest', '/nonexistent/ca.crt')).toEqual({
      context: '/repo/examples/api',
      dockerfile: '/repo/examples/api/Dockerfile',
      target: 'runtime',
      tag: 'pier/example-api:latest',
      buildArgs: { NODE_IMAGE: 'n:1' },
      caFile: undefined,
    });
    expect(runtimeBuild(cfg, 't:1', '/etc/hostname').caFile).toBe('/etc/hostname');
  });
});
