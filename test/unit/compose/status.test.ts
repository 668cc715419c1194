import { describe, expect, it } from 'vitest';
import { assess, formatTable, parsePs, type ServiceState } from '../../../src/compose/status.ts';

const row = (o: Record<string, unknown>) => JSON.stringify({ ExitCode: 0, Health: '', Publishers: null, ...o });

describe('parsePs', () => {
  it('reads compose 2.21+ NDJSON and older JSON arrays alike, sorted by service', () => {
    const rows = [
      row({ Service: 'nginx', Name: 'p-nginx-1', State: 'running', Health: 'healthy', Publishers: [{ URL: '127.0.0.1', TargetPort: 80, PublishedPort: 49153, Protocol: 'tcp' }] }),
      row({ Service: 'app', Name: 'p-app-1', State: 'running', Health: 'starting', Publishers: [{ URL: '', TargetPort: 3000, PublishedPort: 0, Protocol: 'tcp' }] }),
    ];
    const expected: ServiceState[] = [
      { service: 'app', container: 'p-app-1', state: 'running', health: 'starting', exitCode: 0, ports: '' },
      { service: 'nginx', container: 'p-nginx-1', state: 'running', health: 'healthy', exitCode: 0, ports: '127.0.0.1:49153->80/tcp' },
    ];
    expect(parsePs(rows.join('\n'))).toEqual(expected);
    expect(parsePs(`[${rows.join(',')}]`)).toEqual(expected);
    expect(parsePs('\n')).toEqual([]);
  });
});

const s = (service: string, state: string, health = '', exitCode = 0): ServiceState => ({ service, container: `p-${service}-1`, state, health, exitCode, ports: '' });

describe('assess', () => {
  it('is ready when every service runs healthy, runs without a healthcheck, or completed with 0', () => {
    expect(assess(['app', 'migrate', 'redis'], [s('app', 'running', 'healthy'), s('migrate', 'exited', '', 0), s('redis', 'running')])).toEqual({ kind: 'ready' });
  });

  it('waits for starting, created and not-yet-created services', () => {
    expect(assess(['app', 'db', 'nginx'], [s('app', 'running', 'starting'), s('db', 'created')])).toEqual({ kind: 'waiting', pending: ['app', 'db', 'nginx'] });
  });

  it('fails a crash-looping service (restart policy) at once', () => {
    expect(assess(['app'], [{ ...s('app', 'restarting'), exitCode: 2 }])).toEqual({ kind: 'failed', service: 'app', reason: 'is crash-looping (exits and is restarted)' });
  });

  it('fails on the first unhealthy or non-zero exited service, by name', () => {
    expect(assess(['app', 'db'], [s('app', 'running', 'unhealthy'), s('db', 'running', 'healthy')])).toEqual({ kind: 'failed', service: 'app', reason: 'is unhealthy' });
    expect(assess(['app', 'migrate'], [s('app', 'running', 'starting'), s('migrate', 'exited', '', 3)])).toEqual({ kind: 'failed', service: 'migrate', reason: 'exited with code 3' });
  });
});

describe('formatTable', () => {
  it('aligns service, state, health and ports', () => {
    expect(formatTable([s('app', 'running', 'healthy'), { ...s('nginx', 'running'), ports: '127.0.0.1:49153->80/tcp' }])).toBe(
      ['SERVICE  STATE    HEALTH   PORTS', 'app      running  healthy  -', 'nginx    running  -        127.0.0.1:49153->80/tcp'].join('\n'),
    );
  });
});
