import { describe, expect, it } from 'vitest';
import * as docker from '../../../src/deploy/commands/docker.ts';
import { App } from '../../../src/config/sections/app.ts';

const base = { name: 'notes', image: 'notes', port: 8000, test: { command: ['true'] } };

describe('app.volumes', () => {
  it('validates: a volume name or an absolute host path, an absolute target', () => {
    expect(App.parse({ ...base, volumes: [{ source: 'data', target: '/data' }] }).volumes).toEqual([{ source: 'data', target: '/data', readOnly: false }]);
    expect(App.parse(base).volumes).toEqual([]);
    expect(App.safeParse({ ...base, volumes: [{ source: '../up', target: '/data' }] }).success).toBe(false);
    expect(App.safeParse({ ...base, volumes: [{ source: 'data', target: 'data' }] }).success).toBe(false);
  });

  it('a named volume is per app on a host (<app>-<name>); a host path is bound as is', () => {
    expect(docker.appVolumes('notes', [{ source: 'data', target: '/data' }, { source: '/srv/uploads', target: '/u', readOnly: true }])).toEqual(['notes-data:/data', '/srv/uploads:/u:ro']);
  });

  it('every release container and the release step mount them', () => {
    const spec = { name: 'notes-v2', image: 'reg:5000/notes@sha256:1', app: 'notes', version: 'v2', runId: 'r1', volumes: ['notes-data:/data'] };
    expect(docker.runApp(spec)).toEqual([
      'docker', 'run', '--detach', '--name', 'notes-v2', '--network', 'pier', '--restart', 'unless-stopped',
      '--label', 'pier.run=r1', '--label', 'pier.app=notes', '--label', 'pier.release=v2',
      '--volume', 'notes-data:/data', 'reg:5000/notes@sha256:1',
    ]);
    expect(docker.runOnce(spec, ['migrate']).slice(-4)).toEqual(['--volume', 'notes-data:/data', 'reg:5000/notes@sha256:1', 'migrate']);
  });
});
