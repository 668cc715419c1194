// `pier db backup` against a database whose host does not answer (a closed port on 127.0.0.1): exit
// 3 as before, and the environment's receiver (a real one on 127.0.0.1) gets backup.failed naming
// the failure; its URL, a secret, is printed nowhere.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPier } from '../../helpers/pier.ts';

const TOKEN = 'backupHookToken-5521';
const received: { path: string; body: { event: string; env: string; app: string; reason?: string } }[] = [];
const server = http.createServer((req, res) => {
  let data = '';
  req.on('data', (c) => (data += c));
  req.on('end', () => {
    received.push({ path: req.url ?? '', body: JSON.parse(data) });
    res.writeHead(204).end();
  });
});
beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)));
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/** A 127.0.0.1 port nobody listens on (taken from the OS, then let go). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('pier db backup: backup.failed when the database cannot be reached', () => {
  it('exits 3 and the receiver gets backup.failed with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-backup-hook-'));
    mkdirSync(join(dir, 'environments'));
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    writeFileSync(join(dir, 'pier.yaml'), 'app:\n  name: api\n  image: acme/api\n  port: 3000\n  test:\n    command: [npm, test]\n');
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${TOKEN}`;
    writeFileSync(join(dir, 'environments', 'production.yaml'), [
      'hosts:', `  - name: db1`, `    address: 127.0.0.1`, `    port: ${await closedPort()}`, '    user: root',
      'ssh:', `  keyFile: ${join(dir, 'id')}`, '  connectTimeoutSeconds: 3',
      'backup:', '  via: ssh', '  container: pg', '  database: app',
      'notify:', `  - url: ${hook}`, '    events: [backup.failed]',
    ].join('\n') + '\n');
    const r = await runPier(['db', 'backup', 'production'], { cwd: dir, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(3);
    expect(received.map((x) => x.body.event)).toEqual(['backup.failed']);
    expect(received[0]!.path).toBe(`/${TOKEN}`);
    expect(received[0]!.body).toMatchObject({ env: 'production', app: 'api' });
    expect(received[0]!.body.reason).toMatch(/db1|127\.0\.0\.1|refused|connect/i);
    expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
  }, 40_000);
});
