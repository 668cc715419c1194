/**
 * HostOps over a recording session (pure logic: which commands it sends, how it reads records).
 * Defect 2 of issue 11: starting a release never removes or replaces a container.
 */
import { describe, expect, it } from 'vitest';
import type { HostSession } from '../../../src/deploy/executor.ts';
import { HostOps, HostStateError } from '../../../src/deploy/host-ops.ts';
import type { DeployTarget } from '../../../src/deploy/target.ts';

function fakeHost(files: Record<string, string> = {}) {
  const sent: string[][] = [];
  const answer = (argv: readonly string[]) => {
    sent.push([...argv]);
    const file = argv.find((a) => a.startsWith('/var/lib/pier/'));
    if (argv[0] === 'sh' && file && file in files) return files[file]!;
    if (argv.includes('inspect') && argv.some((a) => a.includes('IPAddress'))) return '10.0.0.9\n';
    return '';
  };
  const session = {
    name: 'web1',
    run: async (argv: readonly string[]) => answer(argv),
    probe: async (argv: readonly string[]) => ({ code: 0, stdout: answer(argv), stderr: '' }),
  } as unknown as HostSession;
  const target = { app: 'api', appPort: 3000, healthPath: '/health', settings: { dir: '/var/lib/pier', proxyPort: 80 }, auth: { commandTimeoutMs: 1000 } } as unknown as DeployTarget;
  return { ops: new HostOps(session, target, 'run1'), sent };
}

describe('HostOps', () => {
  it('every start of a release gets its own container name; starting never removes a container', async () => {
    const { ops, sent } = fakeHost();
    const a = ops.release('v3', 'img@sha256:1');
    const b = ops.release('v3', 'img@sha256:1');
    expect(a.container).toMatch(/^api-v3-[0-9a-f]{6}$/);
    expect(b.container).not.toBe(a.container);
    const started = await ops.start(b, '/var/lib/pier/api/env/api.env');
    expect(started).toEqual(b);
    // One round trip: the health probe finds the address itself.
    expect(sent).toHaveLength(1);
    expect(sent.some((argv) => argv[0] === 'docker' && (argv[1] === 'rm' || argv[1] === 'rename'))).toBe(false);
    expect(sent[0]).toEqual(expect.arrayContaining(['docker', 'run', '--name', b.container, '--env-file', '/var/lib/pier/api/env/api.env']));
  });
  it('a truncated current.json is a HostStateError naming host and file (exit 3)', async () => {
    const { ops } = fakeHost({ '/var/lib/pier/api/current.json': '{"version":"v2","ima' });
    const e = (await ops.readCurrent().catch((x: unknown) => x)) as HostStateError;
    expect(e).toBeInstanceOf(HostStateError);
    expect(e.exitCode).toBe(3);
    expect(e.message).toBe('web1: /var/lib/pier/api/current.json: not valid JSON (20 bytes; truncated?)');
  });
  it('a malformed history line is named by file:line for decisions, skipped for listings', async () => {
    const { ops } = fakeHost({ '/var/lib/pier/api/releases.jsonl': '{"version":"v1","container":"api-v1","event":"deployed"}\n{"vers\n' });
    await expect(ops.readHistory()).rejects.toThrow('web1: /var/lib/pier/api/releases.jsonl:2: not a release record (JSON line)');
    expect((await ops.readReleases()).map((r) => r.version)).toEqual(['v1']);
  });

  it('monitoring: promtool checks, and Prometheus mounts, the directory the files were written to', async () => {
    const { ops, sent } = fakeHost();
    const file = await ops.writeMonitoringFile('prometheus.yml', 'global: {}\n');
    const dir = file.replace(/\/prometheus\.yml$/, '');
    expect(dir).toBe('/var/lib/pier/monitoring');
    expect(sent).toContainEqual(['chmod', '0755', dir]);
    sent.length = 0;
    expect(await ops.checkPrometheusConfig('prom', '/etc/pier-monitoring/prometheus.yml')).toBe('');
    expect(sent[0]).toContain(`${dir}:/etc/pier-monitoring:ro`);
  });
});
