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

const run = (argv: string[], env: Record<string, string> = {}) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });

/** A PATH dir with `curl` printing `status` and `docker` printing `running` (or failing when undefined). */
function stubs(status: string, running?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pier-stubs-'));
  writeFileSync(join(dir, 'curl'), `#!/bin/sh\nprintf '%s' '${status}'\n[ '${status}' = 000 ] && exit 7\nexit 0\n`);
  writeFileSync(join(dir, 'docker'), running === undefined ? `#!/bin/sh\necho 'Error: No such object' >&2\nexit 1\n` : `#!/bin/sh\necho '${running}'\n`);
  for (const f of ['curl', 'docker']) chmodSync(join(dir, f), 0o755);
  return dir;
}

describe('healthProbe: status and container state in one round trip', () => {
  const probe = host.healthProbe('http://10.0.0.5:3000/health', 'api-v2', 2);
  it('is a fixed script with the values as parameters', () => {
    expect(probe.slice(3)).toEqual(['sh', 'http://10.0.0.5:3000/health', '2', 'api-v2']);
  });
  it('prints 200 alone when healthy (no container lookup)', () => {
    expect(run(probe, { PATH: `${stubs('200', 'SHOULD-NOT-RUN')}:${process.env.PATH}` })).toBe('200\n');
  });
  it('adds the running state when not healthy', () => {
    expect(run(probe, { PATH: `${stubs('503', 'true')}:${process.env.PATH}` })).toBe('503\ntrue\n');
    expect(run(probe, { PATH: `${stubs('000', 'false')}:${process.env.PATH}` })).toBe('000\nfalse\n');
  });
  it('prints only the status when the container is gone (exit 0 still)', () => {
    expect(run(probe, { PATH: `${stubs('000')}:${process.env.PATH}` })).toBe('000\n');
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
