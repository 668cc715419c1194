// The remote command builders not covered elsewhere, by exact argv (commands are data: the argv is
// the behaviour the host sees), and the defaults they fill in.
import { describe, expect, it } from 'vitest';
import * as docker from '../../../src/deploy/commands/docker.ts';
import * as host from '../../../src/deploy/commands/host.ts';
import { HOST_NETWORK, hostLayout, PROXY_CONTAINER, releaseContainer } from '../../../src/deploy/commands/layout.ts';
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
      `mkdir -p "$(dirname "$1")" && umask 077 && cat > "$1.tmp" && chmod 0644 "$1.tmp" && mv "$1.tmp" "$1" && docker exec "$2" sh -c 'nginx -t -q && nginx -s reload'`,
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

  it('reads: whole file, last lines, size, free space', () => {
    expect(host.readFile('/f')).toEqual(['sh', '-c', 'cat "$1" 2>/dev/null || true', 'sh', '/f']);
    expect(host.tailFile('/f', 50)).toEqual(['sh', '-c', 'tail -n "$2" "$1" 2>/dev/null || true', 'sh', '/f', '50']);
    expect(host.fileSize('/f')).toEqual(['sh', '-c', 'stat -c %s "$1" 2>/dev/null || echo 0', 'sh', '/f']);
    expect(host.freeKb('/var/lib/pier')).toEqual(['sh', '-c', `d="$1"; while [ ! -d "$d" ]; do d=$(dirname "$d"); done; df -Pk "$d" | awk 'NR==2 {print $4}'`, 'sh', '/var/lib/pier']);
  });

  it('directories, removal, health probe defaults, curl default timeout', () => {
    expect(host.mkdirs('/a', '/b')).toEqual(['mkdir', '-p', '/a', '/b']);
    expect(host.removeFile('/f')).toEqual(['rm', '-f', '/f']);
    // The probe's timeout defaults to 2 s (its script is checked by round-trips.test.ts).
    expect(host.healthProbe('api-v2', 'pier', 3000, '/health').slice(3)).toEqual(['sh', 'api-v2', 'pier', '3000', '/health', '2']);
    expect(host.httpStatus('http://c/')).toEqual(['curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '3', 'http://c/']);
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

  it('release container names: unsafe characters replaced, the suffix only when given', () => {
    expect(releaseContainer('api', '1.2.3+build/7', 'ab12')).toBe('api-1.2.3_build_7-ab12');
    expect(releaseContainer('api', 'v_1-2.3')).toBe('api-v_1-2.3');
    expect(releaseContainer('api', 'v1', '')).toBe('api-v1');
    expect(hostLayout('/var/lib/pier//', 'api').lockDir).toBe('/var/lib/pier/lock');
    expect(shScript('echo "$1"', 'a b')).toEqual(['sh', '-c', 'echo "$1"', 'sh', 'a b']);
  });
});
