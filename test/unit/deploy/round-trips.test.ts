/**
 * The combined host scripts that save round trips, run for real with the local `sh` (stand-in
 * `curl` and `docker` on PATH where the script calls them): same effects as the separate commands.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as docker from '../../../src/deploy/commands/docker.ts';
import * as host from '../../../src/deploy/commands/host.ts';
import { scheduleStop } from '../../../src/deploy/commands/retire.ts';
import { parseSwitchOutput, switchStep, SWITCH_EXIT } from '../../../src/deploy/commands/switch.ts';

const run = (argv: string[], env: Record<string, string> = {}) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });

/**
 * A PATH dir with `curl` printing `status` (and logging its URL to `calls`) and `docker` printing
 * `inspect` (or failing when undefined, as for a container that is gone).
 */
function stubs(status: string, inspect?: string): { path: string; calls: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'pier-stubs-'));
  writeFileSync(join(dir, 'curl'), `#!/bin/sh\nfor a; do u="$a"; done\necho "curl $u" >> '${dir}/calls'\nprintf '%s' '${status}'\n[ '${status}' = 000 ] && exit 7\nexit 0\n`);
  writeFileSync(join(dir, 'docker'), inspect === undefined ? `#!/bin/sh\necho 'Error: No such object' >&2\nexit 1\n` : `#!/bin/sh\necho "docker $*" >> '${dir}/calls'\necho '${inspect}'\n`);
  for (const f of ['curl', 'docker']) chmodSync(join(dir, f), 0o755);
  const calls = () => { try { return readFileSync(join(dir, 'calls'), 'utf8'); } catch { return ''; } };
  return { path: `${dir}:${process.env.PATH}`, calls };
}

describe('healthProbe: address, status and container state in one round trip', () => {
  const probe = host.healthProbe('api-v2', 'pier', 3000, '/health', 2);
  it('is a fixed script with the values as parameters', () => {
    expect(probe.slice(3)).toEqual(['sh', 'api-v2', 'pier', '3000', '/health', '2']);
  });
  it('looks the address up on the pier network and asks the app there', () => {
    const s = stubs('200', 'true 10.0.0.5');
    expect(run(probe, { PATH: s.path })).toBe('200\ntrue\n');
    expect(s.calls()).toBe('docker inspect --format {{.State.Running}} {{(index .NetworkSettings.Networks "pier").IPAddress}} api-v2\ncurl http://10.0.0.5:3000/health\n');
  });
  it('reports a status that is not 200 with the running state', () => {
    expect(run(probe, { PATH: stubs('503', 'true 10.0.0.5').path })).toBe('503\ntrue\n');
    expect(run(probe, { PATH: stubs('000', 'true 10.0.0.5').path })).toBe('000\ntrue\n');
  });
  it('asks nothing of a stopped container or one without an address yet', () => {
    const stopped = stubs('200', 'false ');
    expect(run(probe, { PATH: stopped.path })).toBe('000\nfalse\n');
    expect(stopped.calls()).not.toMatch(/curl/);
    const noAddress = stubs('200', 'true ');
    expect(run(probe, { PATH: noAddress.path })).toBe('000\ntrue\n');
    expect(noAddress.calls()).not.toMatch(/curl/);
  });
  it('prints no running state when the container is gone (exit 0 still)', () => {
    expect(run(probe, { PATH: stubs('200').path })).toBe('000\n\n');
  });
});

describe('removeAndReleaseLock: the env file and the lock in one round trip, only for their run', () => {
  const setup = (holder?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-unlock-'));
    const lock = join(dir, 'lock');
    const env = join(dir, 'api.env');
    writeFileSync(env, 'A=1\n');
    if (holder) {
      mkdirSync(lock);
      writeFileSync(join(lock, 'info.json'), `{"by":"x","run":"${holder}"}\n`);
    }
    const exists = (p: string) => { try { statSync(p); return true; } catch { return false; } };
    return { argv: host.removeAndReleaseLock(lock, 'run-1', env), has: { lock: () => exists(lock), env: () => exists(env) } };
  };
  it('removes the env file and the lock of this run', () => {
    const t = setup('run-1');
    run(t.argv);
    expect([t.has.env(), t.has.lock()]).toEqual([false, false]);
  });
  it('touches neither while another run holds the lock (exit 1)', () => {
    const t = setup('run-2');
    expect(() => run(t.argv)).toThrow();
    expect([t.has.env(), t.has.lock()]).toEqual([true, true]);
  });
  it('removes the env file when the lock is already gone', () => {
    const t = setup();
    run(t.argv);
    expect(t.has.env()).toBe(false);
  });
});

describe('recordSwitch: current.json then the release record, one round trip', () => {
  it('writes current.json (0644, atomically) and appends one record line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-rec-'));
    const cur = join(dir, 'api', 'current.json');
    const log = join(dir, 'api', 'releases.jsonl');
    run(host.recordSwitch(cur, '{"version":"v1"}', log, '{"version":"v1","event":"deployed"}'));
    run(host.recordSwitch(cur, `{"version":"v2's"}`, log, '{"version":"v2","event":"deployed","from":"v1"}'));
    expect(readFileSync(cur, 'utf8')).toBe(`{"version":"v2's"}\n`);
    expect((statSync(cur).mode & 0o777).toString(8)).toBe('644');
    expect(readFileSync(log, 'utf8')).toBe('{"version":"v1","event":"deployed"}\n{"version":"v2","event":"deployed","from":"v1"}\n');
  });
  it('refuses multi-line records', () => {
    expect(() => host.recordSwitch('/c', '{\n}', '/r', '{}')).toThrow(/single lines/);
  });
});

describe('digestFromPull: the digest from docker pull’s own report (no inspect)', () => {
  const report = (d: string) => `v2: Pulling from pier-test/app\nabc: Pull complete\nDigest: ${d}\nStatus: Downloaded newer image for reg:5000/pier-test/app:v2\nreg:5000/pier-test/app:v2\n`;
  const d = `sha256:${'0a'.repeat(32)}`;
  it('names repo@digest, keeping a registry port', () => {
    expect(docker.digestFromPull('reg:5000/pier-test/app:v2', report(d))).toBe(`reg:5000/pier-test/app@${d}`);
    expect(docker.digestFromPull('reg:5000/pier-test/app', report(d))).toBe(`reg:5000/pier-test/app@${d}`);
    expect(docker.digestFromPull('nginx:1.27', report(d))).toBe(`nginx@${d}`);
    expect(docker.digestFromPull(`reg:5000/app@${d}`, report(d))).toBe(`reg:5000/app@${d}`);
  });
  it('is undefined without a Digest line (the caller inspects instead)', () => {
    expect(docker.digestFromPull('r/a:v1', 'reg:5000/r/a:v1\n')).toBeUndefined();
    expect(docker.digestFromPull('r/a:v1', 'Digest: sha256:short\n')).toBeUndefined();
  });
  it('pulls without --quiet so the report has the Digest line', () => {
    expect(docker.pullReport('reg:5000/a:v1')).toEqual(['docker', 'pull', 'reg:5000/a:v1']);
  });
});

describe('scheduleStop: the host-side retire timer, run for real (docker stubbed)', () => {
  const setup = () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-retire-'));
    writeFileSync(join(dir, 'docker'), `#!/bin/sh\necho "docker $*" >> '${dir}/calls'\n`);
    chmodSync(join(dir, 'docker'), 0o755);
    writeFileSync(join(dir, 'current.json'), '{"container":"api-v2-b"}\n');
    const calls = () => { try { return readFileSync(join(dir, 'calls'), 'utf8'); } catch { return ''; } };
    const start = () => run(scheduleStop('api-v1-a', join(dir, 'current.json'), 1, join(dir, 'lock')), { PATH: `${dir}:${process.env.PATH}` });
    return { dir, calls, start };
  };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('returns at once, stops the old release after the delay, but not while the lock is held', async () => {
    const { dir, calls, start } = setup();
    mkdirSync(join(dir, 'lock'));
    const t0 = Date.now();
    start();
    expect(Date.now() - t0).toBeLessThan(1000);
    await wait(2500);
    expect(calls()).toBe('');
    rmSync(join(dir, 'lock'), { recursive: true });
    await wait(1800);
    expect(calls()).toBe('docker stop --time 10 api-v1-a\n');
  }, 10_000);

  it('skips the stop when the release serves again (current.json names it)', async () => {
    const { dir, calls, start } = setup();
    start();
    writeFileSync(join(dir, 'current.json'), '{"container":"api-v1-a"}\n');
    await wait(2000);
    expect(calls()).toBe('');
  }, 10_000);
});

describe('switchStep: health, proxy switch, smoke test, records and stop timer in one round trip', () => {
  /** `docker` answers inspect with `inspect` and exec with `execExit`; `curl` gives `health` for the app, `smoke` through the proxy. */
  const setup = (o: { health: string; smoke: string; execExit?: number }) => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-switch-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "docker $1" >> '${dir}/calls'\ncase "$1" in inspect) echo 'true 10.0.0.7';; exec) exit ${o.execExit ?? 0};; esac\n`);
    writeFileSync(join(bin, 'curl'), `#!/bin/sh\nfor a; do u="$a"; done\necho "curl $u" >> '${dir}/calls'\ncase "$u" in http://10.0.0.7*) printf '%s' '${o.health}';; *) printf '%s' '${o.smoke}';; esac\n`);
    for (const f of ['curl', 'docker']) chmodSync(join(bin, f), 0o755);
    const f = (n: string) => join(dir, n);
    const argv = switchStep({
      health: { container: 'api-v1', network: 'pier', port: 3000, path: '/health', timeoutSeconds: 2 },
      accessLog: f('access.log'), conf: { file: f('nginx/upstream.conf'), proxyContainer: 'pier-proxy' },
      smoke: { url: 'http://127.0.0.1:8080/health', tries: 2, timeoutSeconds: 1 },
      record: { currentFile: f('state/current.json'), currentJson: '{"version":"v1"}', releasesLog: f('state/releases.jsonl'), recordLine: '{"event":"rollback"}' },
      stopLater: { container: 'api-v2', afterSeconds: 30, lockDir: f('lock') },
    });
    writeFileSync(f('access.log'), 'x\n');
    const go = () => {
      try {
        return { code: 0, out: execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input: 'upstream conf\n', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }) };
      } catch (e) {
        return { code: (e as { status: number }).status, out: String((e as { stdout: string }).stdout) };
      }
    };
    const read = (n: string) => { try { return readFileSync(f(n), 'utf8'); } catch { return undefined; } };
    const calls = () => read('calls') ?? '';
    return { go, read, calls, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  };

  it('switches, smoke-tests, records and schedules the stop, in that order', () => {
    const s = setup({ health: '200', smoke: '200' });
    const r = s.go();
    expect(r.code).toBe(0);
    const out = parseSwitchOutput(r.out);
    expect(out).toMatchObject({ health: { status: '200', running: 'true' }, switched: true, smoke: '200', recorded: true, stopScheduled: true });
    expect(out.mark).toMatch(/^\d+ 2$/); // the access log's inode and size before the switch
    expect(s.read('nginx/upstream.conf')).toBe('upstream conf\n');
    expect(s.read('state/current.json')).toBe('{"version":"v1"}\n');
    expect(s.read('state/releases.jsonl')).toBe('{"event":"rollback"}\n');
    expect(s.calls()).toMatch(/^docker inspect\ncurl http:\/\/10\.0\.0\.7:3000\/health\ndocker exec\ncurl http:\/\/127\.0\.0\.1:8080\/health\n/);
    s.cleanup();
  });

  it('changes nothing when the release does not answer 200 (exit unhealthy)', () => {
    const s = setup({ health: '503', smoke: '200' });
    const r = s.go();
    expect(r.code).toBe(SWITCH_EXIT.unhealthy);
    expect(parseSwitchOutput(r.out)).toMatchObject({ health: { status: '503' }, switched: false, recorded: false });
    expect(s.read('nginx/upstream.conf')).toBeUndefined();
    expect(s.read('state/current.json')).toBeUndefined();
    s.cleanup();
  });

  it('without a health probe or a release to stop: no probe, no timer, the values empty', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-switch-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "docker $1" >> '${dir}/calls'\ncase "$1" in inspect) echo 'true 10.0.0.7';; esac\n`);
    writeFileSync(join(bin, 'curl'), `#!/bin/sh\nfor a; do u="$a"; done\necho "curl $u" >> '${dir}/calls'\nprintf 200\n`);
    for (const f of ['curl', 'docker']) chmodSync(join(bin, f), 0o755);
    const f = (n: string) => join(dir, n);
    const argv = switchStep({
      accessLog: f('access.log'), conf: { file: f('nginx/upstream.conf'), proxyContainer: 'pier-proxy' },
      smoke: { url: 'http://127.0.0.1:8080/health', tries: 3, timeoutSeconds: 1 },
      record: { currentFile: f('state/current.json'), currentJson: '{"version":"v2"}', releasesLog: f('state/releases.jsonl'), recordLine: '{"event":"deployed"}' },
    });
    // The script's values, in order: health (container, network, port, path, timeout), log, conf, proxy, smoke URL, tries, timeout, records, stop (container, after, lock).
    expect(argv.slice(3)).toEqual([
      'sh', '', '', '', '', '', f('access.log'), f('nginx/upstream.conf'), 'pier-proxy', 'http://127.0.0.1:8080/health',
      '3', '1', f('state/current.json'), '{"version":"v2"}', f('state/releases.jsonl'), '{"event":"deployed"}', '', '0', '',
    ]);
    const out = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input: 'conf\n', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    expect(parseSwitchOutput(out)).toEqual({ mark: '', switched: true, smoke: '200', recorded: true, stopScheduled: false });
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toBe('docker exec\ncurl http://127.0.0.1:8080/health\n');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the health probe\'s values and the stop timer\'s, its delay in whole seconds', () => {
    const argv = switchStep({
      health: { container: 'api-v1', network: 'pier', port: 3000, path: '/up', timeoutSeconds: 4 },
      accessLog: '/l/access.log', conf: { file: '/n/pier.conf', proxyContainer: 'pier-proxy' },
      smoke: { url: 'https://127.0.0.1:8443/up', tries: 5, timeoutSeconds: 2 },
      record: { currentFile: '/s/current.json', currentJson: '{}', releasesLog: '/s/releases.jsonl', recordLine: '{}' },
      stopLater: { container: 'api-v2', afterSeconds: 29.6, lockDir: '/d/lock' },
    });
    expect(argv.slice(3)).toEqual(['sh', 'api-v1', 'pier', '3000', '/up', '4', '/l/access.log', '/n/pier.conf', 'pier-proxy', 'https://127.0.0.1:8443/up', '5', '2', '/s/current.json', '{}', '/s/releases.jsonl', '{}', 'api-v2', '30', '/d/lock']);
  });

  it('records must be single lines, either of them', () => {
    const base = { accessLog: '/l', conf: { file: '/c', proxyContainer: 'p' }, smoke: { url: 'http://x/', tries: 1, timeoutSeconds: 1 } };
    expect(() => switchStep({ ...base, record: { currentFile: '/c', currentJson: '{\n}', releasesLog: '/r', recordLine: '{}' } })).toThrow('switchStep: records must be single lines');
    expect(() => switchStep({ ...base, record: { currentFile: '/c', currentJson: '{}', releasesLog: '/r', recordLine: '{\n}' } })).toThrow('switchStep: records must be single lines');
  });

  it('its output read as it arrives: CRLF and padding tolerated, a missing value empty, nothing said is nothing done', () => {
    expect(parseSwitchOutput('@health 000 \r\n@mark 12 40\r\n @switched\r\n@smoke\r\n')).toEqual({ health: { status: '000', running: '' }, mark: '12 40', switched: true, smoke: '', recorded: false, stopScheduled: false });
    expect(parseSwitchOutput('@health\n')).toEqual({ health: { status: '', running: '' }, switched: false, recorded: false, stopScheduled: false });
    expect(parseSwitchOutput('')).toEqual({ switched: false, recorded: false, stopScheduled: false });
    expect(parseSwitchOutput('@recorded\nsomething else\n@stop-scheduled\n')).toEqual({ switched: false, recorded: true, stopScheduled: true });
    expect(parseSwitchOutput('@recorded\nnohup: ignoring input\n')).toEqual({ switched: false, recorded: true, stopScheduled: false });
  });

  it('stops before the records when the reload or the smoke test fails, saying which', () => {
    const reload = setup({ health: '200', smoke: '200', execExit: 1 });
    expect(reload.go().code).toBe(SWITCH_EXIT.proxy);
    expect(reload.read('state/current.json')).toBeUndefined();
    reload.cleanup();
    const smoke = setup({ health: '200', smoke: '502' });
    const r = smoke.go();
    expect(r.code).toBe(SWITCH_EXIT.smoke);
    expect(parseSwitchOutput(r.out)).toMatchObject({ switched: true, smoke: '502', recorded: false });
    expect(smoke.calls().match(/curl http:\/\/127/g)).toHaveLength(2); // `tries` requests through the proxy
    expect(smoke.read('state/releases.jsonl')).toBeUndefined();
    smoke.cleanup();
  });
});
