// The wait loop of ComposeStack.up with a scripted runner and a fake clock: no Docker here
// (the real thing is test/integration/env-*.test.ts).
import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult } from '../../../src/util/exec.ts';
import { EnvironmentError } from '../../../src/util/errors.ts';
import { ComposeStack, composeCulprit, type Clock } from '../../../src/compose/stack.ts';

const target = { project: 'p', files: ['/c.yaml'], envFiles: [] };
const ps = (rows: [string, string, string][]) => rows.map(([Service, State, Health]) => JSON.stringify({ Service, Name: `p-${Service}-1`, State, Health, ExitCode: State === 'exited' ? 1 : 0 })).join('\n');

/** A runner answering by subcommand; `psSeq` is consumed one answer per poll. */
function fake(psSeq: string[], upCode = 0) {
  const calls: string[][] = [];
  const run = async (argv: string[], _o?: ExecOptions): Promise<ExecResult> => {
    calls.push(argv);
    const sub = argv.slice(6); // after docker compose --ansi never -p p
    const out = (stdout: string, code: number | null = 0, stderr = '') => ({ argv, code, stdout, stderr });
    if (sub.includes('--services')) return out('app\ndb\n');
    if (sub.includes('up')) return out('', upCode, upCode ? 'dependency failed to start: container p-db-1 is unhealthy' : '');
    if (sub.includes('ps')) return out(psSeq.length > 1 ? psSeq.shift()! : psSeq[0]!);
    // compose prefixes log lines with an erase-line sequence even with --ansi never
    if (sub.includes('logs')) return out('\x1b[2Kdb-1  | FATAL: password authentication failed for user "api"\n');
    throw new Error(`unexpected ${argv.join(' ')}`);
  };
  return { run, calls };
}

function fakeClock(): Clock & { t: number } {
  const c = { t: 0, now: () => c.t, sleep: async (ms: number) => void (c.t += ms) };
  return c;
}

describe('ComposeStack.up', () => {
  it('polls until every service is healthy and reports the elapsed time', async () => {
    const { run } = fake([ps([['db', 'running', 'starting']]), ps([['app', 'running', 'starting'], ['db', 'running', 'healthy']]), ps([['app', 'running', 'healthy'], ['db', 'running', 'healthy']])]);
    const clock = fakeClock();
    const progress: string[] = [];
    const r = await new ComposeStack(target, { run, clock }).up({ pollMs: 500, onProgress: (l) => progress.push(l) });
    expect(r.seconds).toBe(1);
    expect(r.services.map((s) => s.service)).toEqual(['app', 'db']);
    expect(progress).toEqual(['waiting for: app, db', 'waiting for: app']);
  });

  it('fails naming the unhealthy service, with its last log lines', async () => {
    const { run, calls } = fake([ps([['db', 'running', 'unhealthy']])], 1);
    const err = await new ComposeStack(target, { run, clock: fakeClock() }).up().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(/^service "db" of p is unhealthy\n--- last 30 log lines of db ---\ndb-1 {2}\| FATAL: password authentication failed/);
    expect(calls.at(-1)).toEqual(['docker', 'compose', '--ansi', 'never', '-p', 'p', '-f', '/c.yaml', 'logs', '--no-color', '--tail', '30', 'db']);
  });

  it('gives up after the timeout naming the service still pending and its state', async () => {
    const { run } = fake([ps([['app', 'running', 'starting'], ['db', 'running', 'healthy']])]);
    const err = (await new ComposeStack(target, { run, clock: fakeClock() }).up({ timeoutMs: 5000, pollMs: 1000 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^service "app" of p is not healthy after 5 s \(running, starting\)/);
  });

  it('reports compose itself when up fails and no container explains why', async () => {
    const { run } = fake([''], 1);
    const err = (await new ComposeStack(target, { run, clock: fakeClock() }).up().catch((e: unknown) => e)) as Error;
    expect(err.message).toBe('docker compose up failed for project p:\ndependency failed to start: container p-db-1 is unhealthy');
  });
});

describe('composeCulprit', () => {
  const states = [
    { service: 'app', container: 'p-app-1', state: 'running', health: 'starting', exitCode: 0, ports: '' },
    { service: 'nginx', container: 'p-nginx-1', state: 'created', health: '', exitCode: 0, ports: '' },
  ];
  it('maps the container compose blames to its service', () => {
    expect(composeCulprit(' Container p-app-1  Error\ndependency failed to start: container p-app-1 is unhealthy\n', states)).toBe('app');
    expect(composeCulprit('dependency failed to start: container p-app-1 exited (2)', states)).toBe('app');
    expect(composeCulprit('Error response from daemon: port is already allocated', states)).toBeUndefined();
  });

  it('up names that service even when another one is merely waiting for it', async () => {
    const run = async (argv: string[]): Promise<ExecResult> => {
      const sub = argv.slice(6);
      const out = (stdout: string, code: number | null = 0, stderr = '') => ({ argv, code, stdout, stderr });
      if (sub.includes('--services')) return out('app\nnginx\n');
      if (sub.includes('up')) return out('', 1, 'dependency failed to start: container p-app-1 is unhealthy');
      if (sub.includes('ps')) return out(states.map((s) => JSON.stringify({ Service: s.service, Name: s.container, State: s.state, Health: s.health, ExitCode: 0 })).join('\n'));
      return out('app-1  | config error: FAIL_RATE\n');
    };
    const err = (await new ComposeStack(target, { run, clock: fakeClock() }).up().catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^service "app" of p did not become healthy \(running, starting\); compose: dependency failed to start: container p-app-1 is unhealthy\n--- last 30 log lines of app ---\napp-1 {2}\| config error: FAIL_RATE$/);
  });
});

describe('ComposeStack.logs (issue 14, defect 3)', () => {
  it('redacts a secret that compose delivers split across two chunks', async () => {
    const { registerSecret } = await import('../../../src/util/redact.ts');
    registerSecret('sk_live_51HcanaryXYZ');
    const run = async (argv: string[], o?: ExecOptions): Promise<ExecResult> => {
      // compose's output arrives in pipe-sized chunks; this one ends inside the key.
      o?.onOutput?.('api-1  | charging with sk_live_51Hca', 'stdout');
      o?.onOutput?.('naryXYZ\napi-1  | done\n', 'stdout');
      return { argv, code: 0, stdout: '', stderr: '' };
    };
    let out = '';
    await new ComposeStack(target, { run, clock: fakeClock() }).logs({ services: [], write: (t) => (out += t) });
    expect(out).toBe('api-1  | charging with ***\napi-1  | done\n');
  });
});
