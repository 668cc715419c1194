import { ROTATE_LOOP } from '../../../src/deploy/commands/log-rotate.ts';
import { describe, expect, it } from 'vitest';
import * as docker from '../../../src/deploy/commands/docker.ts';
import * as host from '../../../src/deploy/commands/host.ts';
import { hostLayout, releaseContainer } from '../../../src/deploy/commands/layout.ts';
import { quoteWord, shScript, toCommandLine } from '../../../src/deploy/commands/shell.ts';

describe('shell quoting', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(toCommandLine(['docker', 'run', '--name', 'app-v1', 'reg:5000/app@sha256:ab'])).toBe('docker run --name app-v1 reg:5000/app@sha256:ab');
    expect(quoteWord('')).toBe("''");
    expect(quoteWord("it's $HOME; rm -rf /")).toBe(`'it'\\''s $HOME; rm -rf /'`);
    expect(toCommandLine(['printf', '%s\n', 'a b'])).toBe(`printf '%s\n' 'a b'`);
  });
  it('refuses an empty argv', () => {
    expect(() => toCommandLine([])).toThrow(/empty argv/);
  });
  it('passes script values as positional parameters', () => {
    expect(shScript('echo "$1"', 'x; reboot')).toEqual(['sh', '-c', 'echo "$1"', 'sh', 'x; reboot']);
  });
});

describe('docker commands', () => {
  const spec = { name: 'api-v2', image: 'reg:5000/api@sha256:1', app: 'api', version: 'v2', runId: 'r1', envFile: '/var/lib/pier/api/env/api-v2.env', env: { APP_VERSION: 'v2', PORT: '3000' } };
  it('runs a release beside the old one on the pier network, labelled, with env file', () => {
    expect(docker.runApp(spec)).toEqual([
      'docker', 'run', '--detach', '--name', 'api-v2', '--network', 'pier', '--restart', 'unless-stopped',
      '--label', 'pier.run=r1', '--label', 'pier.app=api', '--label', 'pier.release=v2',
      '--env-file', '/var/lib/pier/api/env/api-v2.env', '--env', 'APP_VERSION=v2', '--env', 'PORT=3000',
      'reg:5000/api@sha256:1',
    ]);
  });
  it('runs a release step once with the command appended', () => {
    expect(docker.runOnce(spec, ['node', 'src/migrate.js'])).toEqual([
      'docker', 'run', '--rm', '--name', 'api-v2-release-step', '--network', 'pier',
      '--label', 'pier.run=r1', '--label', 'pier.app=api', '--label', 'pier.release=v2', '--label', 'pier.step=migrate',
      '--env-file', '/var/lib/pier/api/env/api-v2.env', '--env', 'APP_VERSION=v2', '--env', 'PORT=3000',
      'reg:5000/api@sha256:1', 'node', 'src/migrate.js',
    ]);
  });
  it('starts the proxy owning the public port with pier-managed config and logs', () => {
    expect(docker.runProxy({ image: 'nginx:1.27', publicPort: 80, nginxDir: '/var/lib/pier/nginx', logDir: '/var/lib/pier/logs' })).toEqual([
      'docker', 'run', '--detach', '--name', 'pier-proxy', '--network', 'pier', '--restart', 'unless-stopped', '--label', 'pier.role=proxy',
      '--publish', '80:80', '--volume', '/var/lib/pier/nginx:/etc/nginx/conf.d:ro', '--volume', '/var/lib/pier/logs:/var/log/pier', 'nginx:1.27',
      'sh', '-c', `sh -c "$1" pier-rotate /var/log/pier "$$" & exec nginx -g 'daemon off;'`, 'pier-proxy', ROTATE_LOOP,
    ]);
  });
  it('builds the small commands exactly', () => {
    expect(docker.pull('reg:5000/api:v2')).toEqual(['docker', 'pull', '--quiet', 'reg:5000/api:v2']);
    expect(docker.load()).toEqual(['docker', 'load', '--quiet']);
    expect(docker.stop('api-v1', 10)).toEqual(['docker', 'stop', '--time', '10', 'api-v1']);
    expect(docker.remove('api-v1')).toEqual(['docker', 'rm', '--force', 'api-v1']);
    expect(docker.proxyReload()).toEqual(['docker', 'exec', 'pier-proxy', 'sh', '-c', docker.NGINX_TEST_AND_RELOAD]);
    expect(docker.proxyTest()).toEqual(['docker', 'exec', 'pier-proxy', 'nginx', '-t', '-q']);
    expect(docker.repoDigest('r/a:v1')).toEqual(['docker', 'image', 'inspect', '--format', '{{index .RepoDigests 0}}', 'r/a:v1']);
    expect(docker.logsTail('api-v1', 15)).toEqual(['docker', 'logs', '--tail', '15', 'api-v1']);
  });
});

describe('host commands', () => {
  it('takes the lock with an atomic mkdir, printing the holder when held', () => {
    expect(host.acquireLock('/var/lib/pier/lock', '{"by":"a"}')).toEqual([
      'sh', '-c',
      `mkdir -p "$(dirname "$1")" && if mkdir "$1" 2>/dev/null; then printf '%s\\n' "$2" > "$1/info.json"; else cat "$1/info.json" 2>/dev/null; exit 75; fi`,
      'sh', '/var/lib/pier/lock', '{"by":"a"}',
    ]);
  });
  it('releases only its own lock', () => {
    expect(host.releaseLock('/l', 'run-1')).toEqual(['sh', '-c', `[ ! -d "$1" ] || { grep -qF "\\"run\\":\\"$2\\"" "$1/info.json" 2>/dev/null && rm -rf "$1"; }`, 'sh', '/l', 'run-1']);
    expect(host.forceReleaseLock('/l')).toEqual(['rm', '-rf', '/l']);
  });
  it('appends audit lines and refuses multi-line ones', () => {
    expect(host.appendLine('/var/lib/pier/audit.log', 'x deploy v2')).toEqual([
      'sh', '-c', `mkdir -p "$(dirname "$1")" && umask 077 && printf '%s\\n' "$2" >> "$1"`, 'sh', '/var/lib/pier/audit.log', 'x deploy v2',
    ]);
    expect(() => host.appendLine('/a', 'two\nlines')).toThrow(/newline/);
  });
  it('writes files atomically with a mode, content on stdin', () => {
    expect(host.writeFile('/e/app.env', '0600')).toEqual([
      'sh', '-c', `mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"`, 'sh', '/e/app.env', '0600',
    ]);
  });
  it('reads the access log since a cursor: the file, then each position as ino:offset (oldest first)', () => {
    const argv = host.readLogSince('/l/access.log', ['12:300', '13:40']);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv.slice(3)).toEqual(['sh', '/l/access.log', '12:300', '13:40']);
    expect(argv[2]).toContain('for n in 9 8 7 6 5 4 3 2 1 0;');
  });
  it('asks curl for the status code only', () => {
    expect(host.httpStatus('http://10.0.0.2:3000/health', 2)).toEqual(['curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '2', 'http://10.0.0.2:3000/health']);
  });
});

describe('layout', () => {
  it('keeps everything under one directory per host', () => {
    expect(hostLayout('/var/lib/pier/', 'api')).toEqual({
      dir: '/var/lib/pier',
      lockDir: '/var/lib/pier/lock',
      lockInfo: '/var/lib/pier/lock/info.json',
      auditLog: '/var/lib/pier/audit.log',
      releasesLog: '/var/lib/pier/api/releases.jsonl',
      currentFile: '/var/lib/pier/api/current.json',
      envDir: '/var/lib/pier/api/env',
      envFile: '/var/lib/pier/api/env/api.env',
      nginxDir: '/var/lib/pier/nginx',
      upstreamConf: '/var/lib/pier/nginx/pier.conf',
      logDir: '/var/lib/pier/logs',
      accessLog: '/var/lib/pier/logs/access.log',
      rotateConf: '/var/lib/pier/logs/rotate.conf',
    });
    expect(releaseContainer('api', 'v1.2+build/3')).toBe('api-v1.2_build_3');
    // Every start of a release has its own name: a re-run never replaces a serving container.
    expect(releaseContainer('api', 'v3', 'a1b2c3')).toBe('api-v3-a1b2c3');
  });
});
