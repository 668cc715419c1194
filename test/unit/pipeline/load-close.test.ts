/**
 * The load client against servers that close the connection after each response (HTTP/1.0,
 * `Connection: close`, body until EOF) and one that keeps it alive: pier's p95 must stay close to
 * an independent client's (fresh node:http connection per request) in the same run. Before the
 * fix autocannon timed each response from an ever older request on closing servers (seconds).
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStats, runLoad } from '../../../src/pipeline/load.ts';
import { measureIndependently } from '../../helpers/independent-client.ts';

const servers: { close(): void }[] = [];
const urls: Record<string, string> = {};

async function listen(s: http.Server | net.Server, name: string) {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  servers.push(s);
  urls[name] = `http://127.0.0.1:${(s.address() as net.AddressInfo).port}/`;
}

beforeAll(async () => {
  const reply = (close: boolean) => (_req: http.IncomingMessage, res: http.ServerResponse) =>
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2', ...(close ? { connection: 'close' } : {}) });
      res.end('ok');
    }, 3);
  await listen(http.createServer(reply(false)), 'keepalive');
  await listen(http.createServer(reply(true)), 'close');
  // HTTP/1.0 without Content-Length: the body ends when the server closes the connection.
  const raw = net.createServer((sock) => {
    sock.once('data', () => setTimeout(() => sock.end('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nok'), 3));
    sock.on('error', () => undefined);
  });
  await listen(raw, 'eof');
});
afterAll(() => servers.forEach((s) => s.close()));

describe('load client vs an independent client', () => {
  for (const kind of ['keepalive', 'close', 'eof']) {
    it(`${kind}: pier's p95 is within a sane factor of the independent p95`, async () => {
      const res = await runLoad({ url: urls[kind]!, method: 'GET', connections: 4, durationSeconds: 1.5 });
      const pier = loadStats(res);
      const indep = await measureIndependently(urls[kind]!, 4, 1000);
      expect(indep.latencies.length).toBeGreaterThan(20);
      expect(pier.errors).toBe(0);
      expect(pier.requests).toBeGreaterThan(20);
      expect(pier.p95Ms).toBeLessThan(Math.max(indep.p95Ms * 4, indep.p95Ms + 40));
    });
  }
});
