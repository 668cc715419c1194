/**
 * Issue 16 on real hosts (2 Docker-in-Docker hosts, one fleet for the file): hooks around deploys
 * and rollbacks (PIER_* facts, the lock held through post-hooks, a failing preDeploy changing
 * nothing on any host) and maintenance mode (503 + page + Retry-After but health and the ACME
 * path, kept through a deploy, shown by pier status, switched off under load with no failed
 * request, ended by deploy --live). Pure parts: test/unit/hooks/, test/unit/deploy/maintenance.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildTestApp, writeProject, type Fleet } from '../helpers/fleet.ts';
import { get } from '../helpers/http.ts';
import { notYet, poll } from '../../src/util/poll.ts';
import { pierBin, runPier } from '../helpers/pier.ts';
import { useFleet } from '../helpers/use-fleet.ts';

let fleet: Fleet;
let config: string;
let failing: string;
let root: string;
const PAGE = '<html><body><h1>Back soon: fixture maintenance page</h1></body></html>\n';

/** A hook that appends its PIER_* variables (and, with CHECK_LOCK, `pier lock status`'s exit) to hooks.jsonl. */
const HOOK = `
const { appendFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PIER_')));
if (process.env.CHECK_LOCK) env.lockStatusExit = spawnSync(process.execPath, [process.env.PIER_BIN, 'lock', 'status', 'production', '--config', process.env.PIER_CONFIG], { encoding: 'utf8', timeout: 60000 }).status;
appendFileSync('hooks.jsonl', JSON.stringify(env) + '\\n');
console.log('hook ' + process.env.PIER_HOOK + ' saw ' + process.env.PIER_VERSION);
process.exit(Number(process.env.EXIT_CODE || 0));
`;

const hook = (extra: Record<string, string> = {}) => ({ command: ['node', 'hook.cjs'], timeoutSeconds: 90, env: { PIER_BIN: pierBin, PIER_CONFIG: config, ...extra } });
const hookLines = (): Record<string, string | number>[] => readFileSync(join(root, 'hooks.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const pier = (args: string[], file = config) => runPier([...args, '--config', file], { cwd: root, timeoutMs: 300_000 });
const lb = (path: string) => get(`http://127.0.0.1:${fleet.lbPort}${path}`);
/** What a host records and runs: current.json, its app containers, its proxy config. */
const hostState = async (h: string) => ({
  current: await fleet.hostExec(h, ['cat', '/var/lib/pier/deploy-app/current.json']),
  containers: (await fleet.hostExec(h, ['docker', 'ps', '-a', '--filter', 'label=pier.app=deploy-app', '--format', '{{.Names}} {{.State}}'])).split('\n').sort(),
  proxy: await fleet.hostExec(h, ['cat', '/var/lib/pier/nginx/pier.conf']),
});

useFleet({ count: 2, alongside: () => [buildTestApp('pier-test/deploy-app:good')] }, async (f) => {
  fleet = f;
  await Promise.all(['v1', 'v2', 'v3', 'v4'].map((v) => fleet.push('pier-test/deploy-app:good', `pier-test/deploy-app:${v}`)));
  config = writeProject(fleet, { bakeSeconds: 0, drainSeconds: 0, healthTimeoutSeconds: 30, environment: { maintenance: { page: 'maintenance.html', retryAfterSeconds: 120 } } });
  root = dirname(config);
  writeFileSync(join(root, 'hook.cjs'), HOOK);
  writeFileSync(join(root, 'maintenance.html'), PAGE);
  const pierYaml = parse(readFileSync(config, 'utf8'));
  pierYaml.hooks = { preDeploy: [hook()], postDeploy: [hook({ CHECK_LOCK: '1' })], preRollback: [hook()], postRollback: [hook({ CHECK_LOCK: '1' })] };
  writeFileSync(config, stringify(pierYaml));
  // The same project with a preDeploy that fails (the environment's list replaces pier.yaml's).
  failing = join(root, 'failing.yaml');
  const env = parse(readFileSync(join(root, 'environments', 'production.yaml'), 'utf8'));
  writeFileSync(join(root, 'environments', 'failing.yaml'), stringify({ ...env, hooks: { preDeploy: [hook({ EXIT_CODE: '3' })] } }));
});

describe.sequential('hooks', () => {
  it('preDeploy and postDeploy see the deploy (digest, hosts, performer, outcome); the lock is held through postDeploy', async () => {
    const r = await pier(['deploy', 'production', '--version', 'v1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('[preDeploy] hook preDeploy saw v1');
    const [pre, post] = hookLines();
    expect(pre).toMatchObject({ PIER_HOOK: 'preDeploy', PIER_ENV: 'production', PIER_VERSION: 'v1', PIER_HOSTS: 'web1,web2', PIER_APP: 'deploy-app', PIER_COMMAND: 'deploy' });
    expect(pre!.PIER_DIGEST).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pre!.PIER_PERFORMER).toMatch(/@/);
    expect(pre!.PIER_OUTCOME).toBeUndefined();
    expect(post).toMatchObject({ PIER_HOOK: 'postDeploy', PIER_VERSION: 'v1', PIER_OUTCOME: 'succeeded', PIER_DIGEST: pre!.PIER_DIGEST, PIER_RUN: pre!.PIER_RUN });
    // pier lock status exits 1 while a lock is held: the post hook ran before the lock was released.
    expect(post!.lockStatusExit).toBe(1);
    const after = await pier(['lock', 'status', 'production']);
    expect(after.code, after.stdout).toBe(0);
  }, 600_000);

  it('a failing preDeploy aborts before any host changes, says so, and postDeploy sees PIER_OUTCOME=failed', async () => {
    const before = await Promise.all(fleet.hosts.map((h) => hostState(h.name)));
    writeFileSync(join(root, 'hooks.jsonl'), '');
    const r = await runPier(['deploy', 'failing', '--version', 'v2', '--config', config], { cwd: root, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/preDeploy hook `node hook\.cjs` exited 3/);
    expect(r.stderr).toMatch(/web1\s+not-changed\s+serving v1/);
    const after = await Promise.all(fleet.hosts.map((h) => hostState(h.name)));
    expect(after).toEqual(before);
    const lines = hookLines();
    expect(lines.map((l) => `${l.PIER_HOOK}:${l.PIER_OUTCOME ?? ''}`)).toEqual(['preDeploy:', 'postDeploy:failed']);
    expect((await pier(['lock', 'status', 'production'])).code).toBe(0);
  }, 600_000);

  it('preRollback and postRollback see the release the fleet goes to', async () => {
    expect((await pier(['deploy', 'production', '--version', 'v2'])).code).toBe(0);
    writeFileSync(join(root, 'hooks.jsonl'), '');
    const r = await pier(['rollback', 'production']);
    expect(r.code, r.stderr).toBe(0);
    const [pre, post] = hookLines();
    expect(pre).toMatchObject({ PIER_HOOK: 'preRollback', PIER_VERSION: 'v1', PIER_PREVIOUS: 'v2', PIER_COMMAND: 'rollback' });
    expect(post).toMatchObject({ PIER_HOOK: 'postRollback', PIER_VERSION: 'v1', PIER_OUTCOME: 'succeeded', lockStatusExit: 1 });
    expect(JSON.parse(await fleet.hostExec('web2', ['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:80/version'])).version).toBe('v1');
  }, 600_000);
});

describe.sequential('maintenance mode', () => {
  it('on: every request but health and the ACME challenge gets 503 with the page and Retry-After; pier status shows it', async () => {
    const r = await pier(['maintenance', 'on', 'production']);
    expect(r.code, r.stderr).toBe(0);
    for (const h of fleet.hosts) {
      const raw = await fleet.hostExec(h.name, ['curl', '-sS', '-i', '--max-time', '5', 'http://127.0.0.1:80/version']);
      expect(raw).toMatch(/^HTTP\/1\.1 503/);
      expect(raw).toMatch(/\r\nRetry-After: 120\r\n/i);
      expect(raw).toContain('fixture maintenance page');
      expect(await fleet.hostExec(h.name, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:80/health'])).toBe('200');
      // The challenge path reaches the app (which has no such file: 200 from its catch-all), not the 503.
      expect(await fleet.hostExec(h.name, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:80/.well-known/acme-challenge/token1'])).toBe('200');
    }
    const s = await pier(['status', 'production']);
    expect(s.code, s.stdout + s.stderr).toBe(0);
    expect(s.stdout.match(/MAINTENANCE on since .* \(503 \+ page maintenance\.html, Retry-After 120s\)/g)).toHaveLength(2);
  }, 600_000);

  it('a deploy during maintenance keeps it on', async () => {
    const r = await pier(['deploy', 'production', '--version', 'v3']);
    expect(r.code, r.stderr).toBe(0);
    for (const h of fleet.hosts) expect(await fleet.hostExec(h.name, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:80/version'])).toBe('503');
    for (const h of fleet.hosts) expect(JSON.parse(await fleet.hostExec(h.name, ['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:80/health'])).version).toBe('v3');
  }, 600_000);

  it('off under load: every answer is the maintenance page or the app, none fails; then only the app', async () => {
    // A bounded curl loop inside each host through its proxy (the simulated fleet's front load
    // balancer takes 503s for host failures), one line per request: "<ms> <status> <Retry-After>",
    // until a stop file appears (at most 90 s, 3000 requests).
    const out = '/tmp/pier-maint-loop.txt';
    const stopFile = '/tmp/pier-maint-loop.stop';
    const loop = `rm -f ${out} ${stopFile}; end=$(( $(date +%s) + 90 )); n=0; while [ ! -e ${stopFile} ] && [ "$(date +%s)" -lt "$end" ] && [ "$n" -lt 3000 ]; do n=$((n+1)); t=$(date +%s%3N); r=$(curl -s -o /dev/null --max-time 3 -w '%{http_code} %header{retry-after}' http://127.0.0.1:80/version); echo "$t $r" >> ${out}; sleep 0.02; done`;
    const loops = fleet.hosts.map((h) => fleet.hostExec(h.name, ['sh', '-c', loop]));
    const count = async (h: string) => Number((await fleet.hostExec(h, ['sh', '-c', `cat ${out} 2>/dev/null | wc -l`])).trim());
    // Every loop answered by maintenance for a while first (bounded: 60 looks, 500 ms apart; the
    // assertions below judge what was seen, as they did when these were hand loops).
    const looks = { timeoutMs: 60_000, intervalMs: 500, maxAttempts: 60 };
    const atLeast20 = (ns: number[]) => (ns.every((n) => n >= 20) ? true : notYet(`requests per host: ${ns.join(', ')}`));
    await poll('20 requests on every host before maintenance off', async () => atLeast20(await Promise.all(fleet.hosts.map((h) => count(h.name)))), looks).catch(() => undefined);
    const startAt = Date.now();
    const r = await pier(['maintenance', 'off', 'production']);
    const offAt = Date.now();
    expect(r.code, r.stderr).toBe(0);
    const atOff = await Promise.all(fleet.hosts.map((h) => count(h.name)));
    await poll('20 requests on every host after maintenance off', async () => atLeast20(await Promise.all(fleet.hosts.map((h, k) => count(h.name).then((n) => n - atOff[k]!)))), looks).catch(() => undefined);
    await Promise.all(fleet.hosts.map((h) => fleet.hostExec(h.name, ['touch', stopFile])));
    await Promise.all(loops);
    const lines = (await Promise.all(fleet.hosts.map((h) => fleet.hostExec(h.name, ['cat', out])))).flatMap((o) => o.trim().split('\n')).map((l) => l.trim().split(' '));
    const kind = ([, code, retry]: string[]) => (code === '200' ? 'app' : code === '503' && retry === '120' ? 'maintenance' : `failed: ${code} ${retry ?? ''}`);
    expect(lines.map(kind).filter((k) => k.startsWith('failed'))).toEqual([]);
    const before = lines.filter((l) => Number(l[0]) < startAt);
    const after = lines.filter((l) => Number(l[0]) > offAt);
    expect(before.filter((l) => kind(l) === 'maintenance').length).toBeGreaterThanOrEqual(40);
    expect(after.length).toBeGreaterThanOrEqual(40);
    expect(after.map(kind).filter((k) => k !== 'app')).toEqual([]);
    const s = await pier(['status', 'production']);
    expect(s.stdout).not.toContain('MAINTENANCE');
    const again = await pier(['maintenance', 'off', 'production']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.match(/maintenance off {2}\(already off\)/g)).toHaveLength(2);
  }, 600_000);

  it('deploy --live ends maintenance once the deploy succeeded', async () => {
    expect((await pier(['maintenance', 'on', 'production', '--retry-after', '30'])).code).toBe(0);
    expect(await fleet.hostExec('web1', ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %header{retry-after}', 'http://127.0.0.1:80/version'])).toBe('503 30');
    const r = await pier(['deploy', 'production', '--version', 'v4', '--live']);
    expect(r.code, r.stderr).toBe(0);
    const res = await lb('/version');
    expect(res.status).toBe(200);
    expect((await res.json()).version).toBe('v4');
  }, 600_000);
});
