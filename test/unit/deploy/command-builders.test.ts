// The remote command builders not covered elsewhere, by exact argv (commands are data: the argv is
// the behaviour the host sees), and the defaults they fill in.
import { describe, expect, it } from 'vitest';
import * as docker from '../../../src/deploy/commands/docker.ts';
import * as host from '../../../src/deploy/commands/host.ts';
import { HOST_NETWORK, hostLayout, PROXY_CONTAINER, releaseContainer, roleLayout } from '../../../src/deploy/commands/layout.ts';
import { upstreamOf } from '../../../src/deploy/commands/nginx.ts';
import { PROXY_LOG_DIR } from '../../../src/deploy/commands/log-rotate.ts';
import { scheduleStop } from '../../../src/deploy/commands/retire.ts';
import { shScript } from '../../../src/deploy/commands/shell.ts';

describe('docker commands', () => {
  it('image and network questions', () => {
    expect(docker.dockerInfo()).toEqual(['docker', 'version', '--format', '{{.Server.Version}}']);
    expect(docker.imageExists('r/a:v1')).toEqual(['docker', 'image', 'inspect', '--format', '{{.Id}}', 'r/a:v1']);
    expect(docker.imageId('r/a:v1')).toEqual(['docker', 'image', 'inspect', '--format', '{{.Id}}', 'r/a:v1']);
    expect(docker.tag('r/a:v1', 'r/a:prev')).toEqual(['docker', 'tag', 'r/a:v1', 'r/a:prev']);
    expect(docker.networkCreate()).toEqual(['docker', 'network', 'create', '--label', 'pier.managed=true', 'pier']);
    expect(docker.networkCreate('other')).toEqual(['docker', 'network', 'create', '--label', 'pier.managed=true', 'other']);
    expect(docker.networkExists()).toEqual(['docker', 'network', 'inspect', '--format', '{{.Name}}', 'pier']);
    expect(docker.networkExists('other').at(-1)).toBe('other');
    expect(HOST_NETWORK).toBe('pier');
    expect(PROXY_CONTAINER).toBe('pier-proxy');
  });

  it('container lifecycle with their defaults', () => {
    expect(docker.start('api-v1')).toEqual(['docker', 'start', 'api-v1']);
    expect(docker.stop('api-v1')).toEqual(['docker', 'stop', '--time', '10', 'api-v1']);
    expect(docker.remove('a', 'b')).toEqual(['docker', 'rm', '--force', 'a', 'b']);
    expect(docker.logsTail('api-v1')).toEqual(['docker', 'logs', '--tail', '20', 'api-v1']);
    expect(docker.containerRunning('api-v1')).toEqual(['docker', 'inspect', '--format', '{{.State.Running}}', 'api-v1']);
    expect(docker.containerImageId('api-v1')).toEqual(['docker', 'inspect', '--format', '{{.Image}}', 'api-v1']);
    expect(docker.listReleases('api')).toEqual([
      'docker', 'ps', '--all', '--no-trunc', '--filter', 'label=pier.app=api',
      '--format', '{"name":"{{.Names}}","state":"{{.State}}","image":"{{.Image}}","release":"{{.Label "pier.release"}}","role":"{{.Label "pier.role"}}","created":"{{.CreatedAt}}"}',
    ]);
  });

  it('runs a release with env values and volumes, on another network when given, without an env file when none', () => {
    const spec = { name: 'api-v2-x', image: 'r/api:v2', app: 'api', version: 'v2', runId: 'run-1', env: { A: '1', B: 'two' }, network: 'net2', volumes: ['api-data:/data', '/srv:/srv:ro'] };
    expect(docker.runApp(spec)).toEqual([
      'docker', 'run', '--detach', '--name', 'api-v2-x', '--network', 'net2', '--restart', 'unless-stopped',
      '--label', 'pier.run=run-1', '--label', 'pier.app=api', '--label', 'pier.release=v2',
      '--env', 'A=1', '--env', 'B=two', '--volume', 'api-data:/data', '--volume', '/srv:/srv:ro', 'r/api:v2',
    ]);
    expect(docker.runOnce({ ...spec, envFile: '/e/api.env' }, ['npm', 'run', 'migrate'])).toEqual([
      'docker', 'run', '--rm', '--name', 'api-v2-x-release-step', '--network', 'net2',
      '--label', 'pier.run=run-1', '--label', 'pier.app=api', '--label', 'pier.release=v2', '--label', 'pier.step=migrate',
      '--env-file', '/e/api.env', '--env', 'A=1', '--env', 'B=two', '--volume', 'api-data:/data', '--volume', '/srv:/srv:ro', 'r/api:v2', 'npm', 'run', 'migrate',
    ]);
    expect(docker.runOnce({ name: 'n', image: 'i', app: 'a', version: 'v', runId: 'r' }, [])).toEqual([
      'docker', 'run', '--rm', '--name', 'n-release-step', '--network', 'pier', '--label', 'pier.run=r', '--label', 'pier.app=a', '--label', 'pier.release=v', '--label', 'pier.step=migrate', 'i',
    ]);
    expect(docker.releaseLabels('a', 'v', 'r')).toEqual({ 'pier.run': 'r', 'pier.app': 'a', 'pier.release': 'v' });
  });

  it('app.volumes: named volumes per app, host paths as they are, read-only marked', () => {
    expect(docker.appVolumes('api', [{ source: 'data', target: '/data' }, { source: '/srv/x', target: '/x', readOnly: true }, { source: 'c', target: '/c', readOnly: false }])).toEqual([
      'api-data:/data',
      '/srv/x:/x:ro',
      'api-c:/c',
    ]);
  });

  it('bounded logs (deploy.logging): json-file with both limits on a release and on the proxy; Docker\'s default without', () => {
    const logging = { maxSize: '10m', maxFile: 3 };
    const limits = ['--log-driver', 'json-file', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3'];
    expect(docker.logArgs(logging)).toEqual(limits);
    expect(docker.logArgs(undefined)).toEqual([]);
    const app = docker.runApp({ name: 'api-v2-x', image: 'r/api:v2', app: 'api', version: 'v2', runId: 'r', envFile: '/e/api.env', logging });
    expect(app).toEqual([
      'docker', 'run', '--detach', '--name', 'api-v2-x', '--network', 'pier', '--restart', 'unless-stopped',
      '--label', 'pier.run=r', '--label', 'pier.app=api', '--label', 'pier.release=v2',
      ...limits, '--env-file', '/e/api.env', 'r/api:v2',
    ]);
    const proxy = docker.runProxy({ image: 'nginx:1', publicPort: 8080, nginxDir: '/d/nginx', logDir: '/d/logs', logging });
    expect(proxy.slice(0, proxy.indexOf('nginx:1'))).toEqual([
      'docker', 'run', '--detach', '--name', 'pier-proxy', '--network', 'pier', '--restart', 'unless-stopped', '--label', 'pier.role=proxy',
      '--publish', '8080:80', '--volume', '/d/nginx:/etc/nginx/conf.d:ro', '--volume', `/d/logs:${PROXY_LOG_DIR}`, ...limits,
    ]);
    expect(proxy).not.toContain('443');
  });

  it('a role health check runs inside the container; the proxy HTTPS port and disk usage questions', () => {
    expect(docker.execIn('api-worker-v2-x', ['sh', '-c', 'test -f /tmp/alive'])).toEqual(['docker', 'exec', 'api-worker-v2-x', 'sh', '-c', 'test -f /tmp/alive']);
    expect(docker.execIn('c', [])).toEqual(['docker', 'exec', 'c']);
    expect(docker.proxyTlsPort()).toEqual(['docker', 'port', 'pier-proxy', '443/tcp']);
    expect(docker.systemDf()).toEqual(['docker', 'system', 'df', '--format', '{{.Type}}\t{{.Size}}\t{{.Reclaimable}}']);
    expect(docker.proxyTest()).toEqual(['docker', 'exec', 'pier-proxy', 'nginx', '-t', '-q']);
    expect(docker.proxyReload()).toEqual(['docker', 'exec', 'pier-proxy', 'sh', '-c', docker.NGINX_TEST_AND_RELOAD]);
    expect(docker.pullReport('r/a:v1')).toEqual(['docker', 'pull', 'r/a:v1']);
    expect(docker.repoDigest('r/a:v1')).toEqual(['docker', 'image', 'inspect', '--format', '{{index .RepoDigests 0}}', 'r/a:v1']);
    expect(docker.stop('api-v1', 45)).toEqual(['docker', 'stop', '--time', '45', 'api-v1']);
    expect(docker.logsTail('api-v1', 200)).toEqual(['docker', 'logs', '--tail', '200', 'api-v1']);
  });

  it('digest of a pull report: the Digest line only, repo without tag or old digest', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(docker.digestFromPull('r/a:v1', `v1: Pulling from r/a\nDigest: ${d}  \nStatus: ok\n`)).toBe(`r/a@${d}`);
    expect(docker.digestFromPull('r/a:v1', `xDigest: ${d}\n`)).toBeUndefined();
    expect(docker.digestFromPull('r/a:v1', `Digest: ${d}x\n`)).toBeUndefined();
    expect(docker.pull('r/a:v1')).toEqual(['docker', 'pull', '--quiet', 'r/a:v1']);
  });
});

describe('host commands', () => {
  it('reads the lock record, or nothing', () => {
    expect(host.readLock('/l')).toEqual(['sh', '-c', 'cat "$1/info.json" 2>/dev/null || true', 'sh', '/l']);
    expect(host.LOCK_HELD_EXIT).toBe(75);
  });

  it('written files are 0600 unless told otherwise', () => {
    expect(host.writeFile('/f')).toEqual(['sh', '-c', 'mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"', 'sh', '/f', '0600']);
    expect(host.writeFile('/f', '0644').at(-1)).toBe('0644');
  });

  it('the proxy config: written 0644 and nginx reloaded in one step', () => {
    expect(host.writeProxyConf('/n/pier.conf', 'pier-proxy')).toEqual([
      'sh', '-c',
      `mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod 0644 "$1.tmp" && mv "$1.tmp" "$1" && docker exec "$2" sh -c '${docker.NGINX_TEST_AND_RELOAD}'`,
      'sh', '/n/pier.conf', 'pier-proxy',
    ]);
  });

  it('the env file: 0600, atomic, other *.env removed', () => {
    expect(host.writeEnvFile('/d/api/env/api.env')).toEqual([
      'sh', '-c',
      `mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod 0600 "$1.tmp" && mv "$1.tmp" "$1" && find "$(dirname "$1")" -maxdepth 1 -name '*.env' ! -path "$1" -exec rm -f {} +`,
      'sh', '/d/api/env/api.env',
    ]);
  });

  it('reads: whole file, last lines, a log mark, free space', () => {
    expect(host.readFile('/f')).toEqual(['sh', '-c', 'cat "$1" 2>/dev/null || true', 'sh', '/f']);
    expect(host.tailFile('/f', 50)).toEqual(['sh', '-c', 'tail -n "$2" "$1" 2>/dev/null || true', 'sh', '/f', '50']);
    expect(host.logMark('/l/access.log')).toEqual(['sh', '-c', `for p in "$1" "$1.1"; do if [ -f "$p" ]; then stat -c '%i %s' "$p"; exit 0; fi; done`, 'sh', '/l/access.log']);
    // The disk script takes the directory as its one value (its behaviour: test/unit/deploy/disk-images.test.ts).
    expect(host.diskUsage('/var/lib/pier').slice(3)).toEqual(['sh', '/var/lib/pier']);
  });

  it('directories, removal, health probe defaults, curl default timeout', () => {
    expect(host.mkdirs('/a', '/b')).toEqual(['mkdir', '-p', '/a', '/b']);
    expect(host.removeFile('/f')).toEqual(['rm', '-f', '/f']);
    // The probe's timeout defaults to 2 s (its script is checked by round-trips.test.ts).
    expect(host.healthProbe('api-v2', 'pier', 3000, '/health').slice(3)).toEqual(['sh', 'api-v2', 'pier', '3000', '/health', '2']);
    expect(host.httpStatus('http://c/')).toEqual(['curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '3', 'http://c/']);
  });

  it('an ACME challenge answer through the proxy: body only, bounded in time and size', () => {
    expect(host.httpBody('http://127.0.0.1:80/.well-known/acme-challenge/tok')).toEqual(['curl', '--silent', '--max-time', '3', '--max-filesize', '4096', 'http://127.0.0.1:80/.well-known/acme-challenge/tok']);
    expect(host.httpBody('http://h/', 10)).toEqual(['curl', '--silent', '--max-time', '10', '--max-filesize', '4096', 'http://h/']);
    expect(host.httpStatus('https://c/', 5)).toEqual(['curl', '--silent', '--insecure', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '5', 'https://c/']);
  });

  it('recordSwitch: one script, current first; refuses a multi-line release record too', () => {
    expect(host.recordSwitch('/c.json', '{"v":1}', '/r.jsonl', '{"e":"d"}')).toEqual([
      'sh', '-c',
      `mkdir -p "$(dirname "$1")" "$(dirname "$3")" && umask 077 && printf '%s\\n' "$2" > "$1.tmp" && chmod 0644 "$1.tmp" && mv "$1.tmp" "$1" && printf '%s\\n' "$4" >> "$3"`,
      'sh', '/c.json', '{"v":1}', '/r.jsonl', '{"e":"d"}',
    ]);
    expect(() => host.recordSwitch('/c', '{}', '/r', '{\n}')).toThrow('recordSwitch: records must be single lines');
    expect(() => host.appendLine('/a', 'x\n')).toThrow('appendLine: line must not contain a newline');
  });
});

describe('retire timer and names', () => {
  it('a detached stop after the window, rounded to whole seconds, waiting for a held lock', () => {
    expect(scheduleStop('api-v1-a', '/d/api/current.json', 29.6, '/d/lock')).toEqual([
      'sh', '-c',
      `nohup sh -c 'sleep "$1"; i=0; while [ -d "$4" ] && [ "$i" -lt 600 ]; do sleep 1; i=$((i+1)); done; grep -qF "\\"container\\":\\"$2\\"" "$3" 2>/dev/null || docker stop --time 10 "$2"' pier-retire "$1" "$2" "$3" "$4" >/dev/null 2>&1 </dev/null &`,
      'sh', '30', 'api-v1-a', '/d/api/current.json', '/d/lock',
    ]);
  });

  it('a role\'s records sit beside the web ones, per role; its containers are named after app and role', () => {
    const l = hostLayout('/var/lib/pier/', 'api');
    expect(roleLayout(l, 'api', 'worker')).toEqual({ currentFile: '/var/lib/pier/api/roles/worker/current.json', releasesLog: '/var/lib/pier/api/roles/worker/releases.jsonl' });
    expect(roleLayout(hostLayout('/srv', 'shop'), 'shop', 'cron').currentFile).toBe('/srv/shop/roles/cron/current.json');
    expect(releaseContainer('api', 'v2', 'ab', 'worker')).toBe('api-worker-v2-ab');
  });

  it('an upstream is the release container on the app port, its weight only when given', () => {
    const rel = { container: 'api-v2-ab', version: 'v2', image: 'r/api:v2' };
    expect(upstreamOf(rel, 3000)).toEqual({ address: 'api-v2-ab:3000', release: 'v2', container: 'api-v2-ab', image: 'r/api:v2' });
    expect('weight' in upstreamOf(rel, 3000)).toBe(false);
    expect(upstreamOf(rel, 8080, 0)).toEqual({ address: 'api-v2-ab:8080', release: 'v2', container: 'api-v2-ab', image: 'r/api:v2', weight: 0 });
    expect(upstreamOf(rel, 8080, 25).weight).toBe(25);
  });

  it('release container names: unsafe characters replaced, the suffix only when given', () => {
    expect(releaseContainer('api', '1.2.3+build/7', 'ab12')).toBe('api-1.2.3_build_7-ab12');
    expect(releaseContainer('api', 'v_1-2.3')).toBe('api-v_1-2.3');
    expect(releaseContainer('api', 'v1', '')).toBe('api-v1');
    expect(hostLayout('/var/lib/pier//', 'api').lockDir).toBe('/var/lib/pier/lock');
    expect(shScript('echo "$1"', 'a b')).toEqual(['sh', '-c', 'echo "$1"', 'sh', 'a b']);
  });
});
