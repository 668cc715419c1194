import { describe, expect, it } from 'vitest';
import { choosePath, judgeAnswers, probeBuildArgv, probeRunArgv, type ProbeSpec } from '../../../src/init/probe.ts';

const spec: ProbeSpec = { root: '/r', dockerfile: '/r/Dockerfile', target: 'release', buildArgs: { BASE_IMAGE: 'pier.local/debian:bookworm' }, port: 8080, env: { DATA_DIR: '/data' }, candidates: ['/health', '/'], caFile: '/ca.crt' };

describe('init probe', () => {
  it('builds the runtime target with the CA secret and labels; runs it on 127.0.0.1 only', () => {
    expect(probeBuildArgv(spec, 'p:1', { 'pier.run': 'r1' })).toEqual([
      'docker', 'buildx', 'build', '--load', '--quiet', '--secret', 'id=ca,src=/ca.crt', '--build-arg', 'BASE_IMAGE=pier.local/debian:bookworm',
      '--target', 'release', '--label', 'pier.run=r1', '-f', '/r/Dockerfile', '-t', 'p:1', '/r',
    ]);
    expect(probeBuildArgv({ ...spec, target: undefined, caFile: undefined, buildArgs: {} }, 'p:1', {})).toEqual(['docker', 'buildx', 'build', '--load', '--quiet', '-f', '/r/Dockerfile', '-t', 'p:1', '/r']);
    expect(probeRunArgv(spec, 'p:1', 'n', { 'pier.run': 'r1' })).toEqual([
      'docker', 'run', '--detach', '--name', 'n', '--label', 'pier.run=r1', '--publish', '127.0.0.1::8080', '--env', 'PORT=8080', '--env', 'DATA_DIR=/data', 'p:1',
    ]);
  });

  it('chooses the first candidate, in order, that answered 2xx', () => {
    const answers = [
      { path: '/health', status: 404 },
      { path: '/healthz', status: 200 },
      { path: '/', status: 200 },
      { path: '/ping', error: 'timed out' },
    ];
    expect(choosePath(['/health', '/healthz', '/ping', '/'], answers)).toBe('/healthz');
    expect(choosePath(['/health'], answers)).toBeUndefined();
  });

  it("says 'none' only when every candidate answered; a round where some paths failed is asked again", () => {
    // Docker's port proxy resets the first connection before the app listens; /healthz then gets a 404.
    expect(judgeAnswers(['/health', '/healthz'], [{ path: '/health', error: 'socket hang up' }, { path: '/healthz', status: 404 }])).toBeUndefined();
    expect(judgeAnswers(['/health', '/healthz'], [{ path: '/health', status: 404 }, { path: '/healthz', status: 404 }])).toBe('none');
    expect(judgeAnswers(['/health', '/healthz'], [{ path: '/health', error: 'reset' }, { path: '/healthz', status: 200 }])).toBe('/healthz');
    expect(judgeAnswers(['/health'], [])).toBeUndefined();
  });
});
