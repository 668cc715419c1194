/**
 * Pre-hooks on the in-memory simulated hosts (test/sim), through the CLI's own hook points and a
 * real failing command: a failing preDeploy aborts before any host changes (no env file, no
 * certificate written, nothing started or switched); a failing preRollback leaves every host
 * unswitched; a deploy with a certificate under 14 days prints the warning line.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../src/config/schema.ts';
import { Tls } from '../../../src/config/sections/proxy.ts';
import { Progress } from '../../../src/deploy/progress.ts';
import type { DeployTarget } from '../../../src/deploy/target.ts';
import { HookFailedError } from '../../../src/hooks/hooks.ts';
import { deployHookPoints, rollbackHookPoints, type HookLog } from '../../../src/hooks/points.ts';
import { ExitCode } from '../../../src/util/errors.ts';
import { certOnce, days, makeCert, type TestCert } from '../../helpers/certs.ts';
import { SimFleet } from '../../sim/fleet.ts';
import { withVirtualTime } from '../../sim/harness.ts';
import { deploy, rollback } from '../../sim/verbs.ts';

const quiet = () => new Progress(() => undefined);
const DOMAIN = 'app.pier.test';
/** A pre-hook that says why it refuses, then exits 3. */
const refuse = (why: string) => [{ command: ['node', '-e', `console.log(${JSON.stringify(why)}); process.exit(3)`], timeoutSeconds: 30, env: {} }];

let root: string;
/** The pair a fleet serves (60 days left), and a new one (10 days: under the 14-day warning, not refused). */
let served: TestCert;
let fresh: TestCert;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pier-prehooks-'));
  for (const d of ['served', 'fresh']) mkdirSync(join(root, 'certs', d), { recursive: true });
  served = await certOnce('prehooks-60d', () => makeCert([DOMAIN], days(-1), days(60), join(root, 'certs', 'served')));
  fresh = await certOnce('prehooks-10d', () => makeCert([DOMAIN], days(-1), days(10), join(root, 'certs', 'fresh')));
});
const tlsWith = (dir: 'served' | 'fresh') => Tls.parse({ hosts: [DOMAIN], certificate: { cert: `certs/${dir}/cert.pem`, key: `certs/${dir}/key.pem` } });
afterEach(() => vi.restoreAllMocks());

/** Every host's files and containers (what a refused command must leave as it was). */
const hostState = (f: SimFleet) => f.hosts.map((h) => ({ files: { ...h.s.files }, containers: Object.values(h.s.containers).map((c) => `${c.name} ${c.running}`).sort() }));
/** Per host: its env files and the certificate its proxy has (what a deploy uploads). */
const uploads = (f: SimFleet) => f.hosts.map((h) => ({ env: Object.keys(h.s.files).filter((p) => p.endsWith('.env')), cert: h.s.files['/var/lib/pier/nginx/tls/cert.pem'], key: h.s.files['/var/lib/pier/nginx/tls/key.pem'] }));
/** The sim's files minus what a refused run legitimately leaves: the audit log's lines. */
const withoutAudit = (s: ReturnType<typeof hostState>) => s.map((h) => ({ ...h, files: Object.fromEntries(Object.entries(h.files).filter(([p]) => !p.endsWith('/audit.log'))) }));

function withHooks(f: SimFleet, hooks: Partial<Config['hooks']>, extra: Partial<DeployTarget> = {}): DeployTarget {
  return f.target(f.process(), {}, { root, config: { hooks } as Config, ...extra });
}

describe('pre-hooks (simulated hosts)', () => {
  it('a failing preDeploy aborts before any host changes: no env file, no certificate, nothing started or switched; the hook\'s output is the error', async () => {
    const f = SimFleet.create(['h1', 'h2'], ['v1', 'v2']);
    await withVirtualTime(async () => {
      const r1 = await deploy(f.target(f.process(), {}, { root, tls: tlsWith('served') }), { version: 'v1', progress: quiet() });
      expect(r1.ok, r1.error).toBe(true);
    });
    // The served pair is on the hosts; the env file went at the lock's release.
    const unchanged = f.hosts.map(() => ({ env: [], cert: served.cert, key: served.key }));
    expect(uploads(f)).toEqual(unchanged);
    const before = hostState(f);
    // v2 with a new pair and an env file: neither may reach a host.
    const target = withHooks(f, { preDeploy: refuse('change freeze until 18:00') }, { tls: tlsWith('fresh'), envFileContent: 'API_TOKEN=t2\n' });
    // The hook's own look at the hosts, at the moment it runs.
    const log: HookLog = { results: [], warnings: [] };
    const points = deployHookPoints(target, 'run-1', log);
    let seenByHook: ReturnType<typeof uploads> | undefined;
    const r = await deploy(target, {
      version: 'v2', progress: quiet(),
      beforeChanges: async (c) => {
        seenByHook = uploads(f);
        return points.beforeChanges!(c);
      },
    });
    expect(seenByHook).toEqual(unchanged);
    expect(r.ok).toBe(false);
    expect(r.exitCode).toBe(ExitCode.gate);
    expect(r.error).toContain('preDeploy hook `node -e');
    expect(r.error).toContain('exited 3');
    expect(r.error).toContain('change freeze until 18:00');
    expect(r.hosts.map((h) => `${h.host} ${h.status} ${h.serving}`)).toEqual(['h1 not-changed v1', 'h2 not-changed v1']);
    expect(log.results.map((x) => [x.hook, x.ok, x.exitCode])).toEqual([['preDeploy', false, 3]]);
    // Nothing written a container or proxy reads; only the audit log's lines (started, failed).
    expect(uploads(f)).toEqual(unchanged);
    expect(withoutAudit(hostState(f))).toEqual(withoutAudit(before));
    for (const h of f.hosts) expect(h.s.files['/var/lib/pier/audit.log']).toMatch(/deploy v2 failed: preDeploy hook/);
    expect(f.unknown).toEqual([]);
    expect(f.violations).toEqual([]);
  });

  it('a deploy with a certificate that has 10 days left prints the warning line before contacting a host', async () => {
    const f = SimFleet.create(['h1'], ['v1']);
    const proc = f.process();
    // Each line printed, with how many host commands had run by then.
    const lines: { text: string; commands: number }[] = [];
    vi.spyOn(console, 'error').mockImplementation((t: unknown) => void lines.push({ text: String(t), commands: proc.log.length }));
    // Stopped at the hook point, before the simulator would have to run a TLS proxy.
    const r = await deploy(f.target(proc, {}, { root, tls: tlsWith('fresh') }), { version: 'v1', progress: quiet(), beforeChanges: () => Promise.reject(new Error('stop here')) });
    expect(r.ok).toBe(false);
    expect(proc.log.length).toBeGreaterThan(0);
    const warning = lines.filter((l) => l.text.includes('expires in'));
    expect(warning).toEqual([{ text: expect.stringMatching(/^! certs\/fresh\/cert\.pem: certificate for app\.pier\.test expires in (9|10) day\(s\) \(\S+\); replace the files named in proxy\.tls\.certificate, then run: pier certs renew production$/), commands: 0 }]);
    expect(lines.map((l) => l.text).join('\n')).not.toContain(fresh.key.split('\n')[1]!);
  });

  it('a failing preRollback leaves every host unswitched and fails (exit 1) with the hook\'s message', async () => {
    const f = SimFleet.create(['h1', 'h2', 'h3'], ['v1', 'v2']);
    await withVirtualTime(async () => {
      for (const v of ['v1', 'v2']) expect((await deploy(f.target(f.process()), { version: v, progress: quiet() })).ok).toBe(true);
    });
    const before = hostState(f);
    const serving = () => f.hosts.map((h) => h.serving().map((s) => s.release).join('+'));
    expect(serving()).toEqual(['v2', 'v2', 'v2']);
    const target = withHooks(f, { preRollback: refuse('rollback needs the on-call\'s approval') });
    const log: HookLog = { results: [], warnings: [] };
    const e = await rollback(target, { progress: quiet(), ...rollbackHookPoints(target, log) }).then(() => undefined, (x: Error) => x);
    expect(e).toBeInstanceOf(HookFailedError);
    expect((e as HookFailedError).exitCode).toBe(ExitCode.gate);
    expect(e!.message).toMatch(/^preRollback hook `node -e .*` exited 3:\n {2}\| rollback needs the on-call's approval$/);
    expect(log.results.map((x) => [x.hook, x.ok])).toEqual([['preRollback', false]]);
    expect(serving()).toEqual(['v2', 'v2', 'v2']);
    // Records, proxy config and containers as they were; the lock released.
    expect(withoutAudit(hostState(f))).toEqual(withoutAudit(before));
    for (const h of f.hosts) expect(h.s.dirs.filter((d) => d.endsWith('/lock'))).toEqual([]);
    expect(f.unknown).toEqual([]);
    expect(f.violations).toEqual([]);
  });
});
