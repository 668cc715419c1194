// Notifications: bodies (pure), and delivery to real HTTP receivers on 127.0.0.1 (ordering, retry,
// a hanging receiver bounded by its timeout, the URL never in a warning).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notify } from '../../../src/config/sections/notify.ts';
import { messageBody, summaryLine, type NotifyEvent } from '../../../src/notify/events.ts';
import { Notifier } from '../../../src/notify/notifier.ts';
import { afterStepsEmissions, deployEndEmissions, manualRollbackEmissions } from '../../../src/notify/lifecycle.ts';
import { redact, registerSecret } from '../../../src/util/redact.ts';

const ev: NotifyEvent = { event: 'deploy.failed', env: 'production', app: 'api', version: '1.2.0-abc1234', digest: `sha256:${'a'.repeat(64)}`, by: 'ci@runner', run: 'r1', at: '2026-12-01T10:00:00.000Z', durationSeconds: 14.23, hosts: ['web1', 'web2'], reason: 'web1: /health answered 503' };

describe('notification bodies', () => {
  it('json carries every field; slack has a summary line, fields and a danger colour for failures', () => {
    expect(messageBody(ev, 'json')).toEqual(ev);
    const s = messageBody(ev, 'slack') as { text: string; attachments: { color: string; fields: { title: string; value: string }[] }[] };
    expect(s.text).toBe('pier: api production: deploy FAILED 1.2.0-abc1234 (2 hosts, 14.2s) by ci@runner: web1: /health answered 503');
    expect(s.attachments[0]!.color).toBe('danger');
    expect(s.attachments[0]!.fields.map((f) => f.title)).toEqual(['Environment', 'Version', 'Digest', 'By', 'Duration', 'Hosts', 'Reason', 'Run']);
    expect((messageBody({ ...ev, event: 'deploy.succeeded', reason: undefined }, 'slack') as { attachments: { color: string }[] }).attachments[0]!.color).toBe('good');
  });

  it('a secret in a reason is redacted in both formats', () => {
    registerSecret('Sup3rS3cretPw');
    const leaky = { ...ev, reason: 'log: postgres://api:Sup3rS3cretPw@db/api refused' };
    expect(JSON.stringify(messageBody(leaky, 'json'))).not.toContain('Sup3rS3cretPw');
    expect(summaryLine(leaky)).not.toContain('Sup3rS3cretPw');
  });

  it('config: exactly one of url and urlEnv; unknown events refused', () => {
    expect(Notify.safeParse({ format: 'slack' }).success).toBe(false);
    expect(Notify.safeParse({ url: 'http://x/y', urlEnv: 'A' }).success).toBe(false);
    expect(Notify.safeParse({ urlEnv: 'HOOK', events: ['deploy.exploded'] }).success).toBe(false);
    expect(Notify.parse({ urlEnv: 'HOOK' })).toMatchObject({ format: 'json', timeoutSeconds: 5, events: expect.arrayContaining(['deploy.started', 'backup.failed']) });
  });
});

describe('which events a run produces (pure)', () => {
  const base = { run: 'r', env: 'production', version: 'v2', ok: false, exitCode: 1, seconds: 9, lock: { released: [], held: [] }, timeline: [] };
  it('a deploy that rolled hosts back: rollback.done then deploy.failed with the reason', () => {
    const out = deployEndEmissions({ ...base, error: 'web2: unhealthy', image: `reg/app@sha256:${'b'.repeat(64)}`, hosts: [{ host: 'web1', status: 'rolled-back', serving: 'v1' }, { host: 'web2', status: 'failed', serving: 'v1' }] });
    expect(out.map(([e]) => e)).toEqual(['rollback.done', 'deploy.failed']);
    expect(out[0]![1]).toMatchObject({ version: 'v1', hosts: ['web1'] });
    expect(out[1]![1]).toMatchObject({ version: 'v2', reason: 'web2: unhealthy', digest: `sha256:${'b'.repeat(64)}`, durationSeconds: 9 });
  });
  it('a good deploy: deploy.succeeded only', () => {
    expect(deployEndEmissions({ ...base, ok: true, exitCode: 0, hosts: [{ host: 'web1', status: 'deployed', serving: 'v2' }] }).map(([e]) => e)).toEqual(['deploy.succeeded']);
  });
  it('a guard that fired and rolled back: guard.fired, rollback.triggered, rollback.done; a passing guard: nothing', () => {
    const g = { name: 'guard', status: 'failed' as const, seconds: 60, summary: 'failed, rollback: error_rate 9 % > 5 %\nmore', detail: { rollback: { ok: true, version: 'v1', seconds: 1.5, hosts: [{ host: 'web1' }] } } };
    expect(afterStepsEmissions([g], 'v2', ['web1']).map(([e, f]) => [e, f.reason])).toEqual([
      ['guard.fired', 'failed, rollback: error_rate 9 % > 5 %'],
      ['rollback.triggered', 'guard: failed, rollback: error_rate 9 % > 5 %'],
      ['rollback.done', undefined],
    ]);
    expect(afterStepsEmissions([{ ...g, status: 'passed' }], 'v2', ['web1'])).toEqual([]);
  });
  it('a rollback by hand says who; an incomplete one names the hosts that did not switch', () => {
    expect(manualRollbackEmissions('ops@laptop', { ok: true, version: 'v1', seconds: 1, hosts: [{ host: 'web1', ok: true }] })[0]![1].reason).toBe('by hand (ops@laptop)');
    expect(manualRollbackEmissions('ops', { ok: false, version: 'v1', seconds: 1, hosts: [{ host: 'web1', ok: true }, { host: 'web2', ok: false }] })[0]![1].reason).toBe('incomplete: web2 did not switch');
  });
});

describe('delivery to real receivers on 127.0.0.1', () => {
  const got: { path: string; body: Record<string, unknown> }[] = [];
  let failNext = 0;
  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        if (req.url?.startsWith('/hang')) return; // never answers
        if (req.url === '/flaky' && failNext > 0) {
          failNext--;
          res.writeHead(503).end();
          return;
        }
        got.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())).finally(() => server.closeAllConnections()));

  const who = { env: 'production', app: 'api', by: 'ci@runner', run: 'r9' };

  it('each receiver gets the events it asked for, in order; a 503 is retried once', async () => {
    got.length = 0;
    failNext = 1;
    const n = new Notifier([
      Notify.parse({ url: `${base}/all` }),
      Notify.parse({ url: `${base}/flaky`, format: 'slack', events: ['deploy.failed', 'rollback.done'] }),
    ], who);
    n.emit('deploy.started', { version: 'v2', hosts: ['web1'] });
    n.emit('rollback.triggered', { version: 'v2', hosts: ['web1'], reason: 'web1 unhealthy' });
    n.emit('rollback.done', { version: 'v1', hosts: ['web1'] });
    n.emit('deploy.failed', { version: 'v2', hosts: ['web1'], reason: 'web1 unhealthy' });
    const deliveries = await n.settle();
    expect(got.filter((g) => g.path === '/all').map((g) => g.body.event)).toEqual(['deploy.started', 'rollback.triggered', 'rollback.done', 'deploy.failed']);
    expect(got.filter((g) => g.path === '/flaky').map((g) => String(g.body.text).split(':')[2]?.trim())).toEqual(['rollback done v1 (1 host) by ci@runner', 'deploy FAILED v2 (1 host) by ci@runner']);
    expect(deliveries.every((d) => d.ok)).toBe(true);
    expect(deliveries.find((d) => d.receiver === '#2 (slack)' && d.event === 'rollback.done')!.attempts).toBe(2);
  });

  it('a receiver that hangs costs at most its timeout at the end; the warning names it, never its URL', async () => {
    const secretUrl = `${base}/hang?token=xoxb-very-secret-token`;
    // Beside a receiver that answers and has a longer timeout: the hanging one is cut at its own.
    const n = new Notifier([Notify.parse({ urlEnv: 'PIER_TEST_HOOK', timeoutSeconds: 1 }), Notify.parse({ url: `${base}/all`, timeoutSeconds: 5 })], who, { PIER_TEST_HOOK: secretUrl });
    const t0 = Date.now();
    n.emit('deploy.started', { version: 'v2', hosts: ['web1'] });
    n.emit('deploy.succeeded', { version: 'v2', hosts: ['web1'] });
    expect(Date.now() - t0).toBeLessThan(50); // emit never waits
    await n.settle();
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(1_800); // not its retry too (2.3 s), nor the other receiver's 5 s
    expect(n.waitedMs).toBeLessThan(1_800);
    const warnings = n.warnings();
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^notification deploy.started to #1 \(json\) not delivered: /);
    expect(warnings.join('\n')).not.toContain('xoxb-very-secret-token');
    expect(redact(`posting to ${secretUrl}`)).not.toContain('xoxb-very-secret-token'); // registered as a secret
  });

  it('a urlEnv that is not set is a warning, not a failure', async () => {
    const n = new Notifier([Notify.parse({ urlEnv: 'PIER_TEST_UNSET_HOOK' })], who, {});
    n.emit('backup.failed', { hosts: [], reason: 'pg_dump exited 1' });
    await n.settle();
    expect(n.warnings()).toEqual(['notification backup.failed to #1 (json) not delivered: PIER_TEST_UNSET_HOOK is not set']);
  });
});
