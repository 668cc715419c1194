/**
 * The load client against servers that close the connection after each response (HTTP/1.0,
 * `Connection: close`, body until EOF) and servers that keep it alive, one of them writing headers
 * and body in two small writes (as Python's http.server does: a reused connection answers ~40 ms
 * late, Nagle against the client's delayed ACK): pier's p50 and p95 must agree with an independent
 * client's (node:http, connections reused when the server allows) in the same run. Before the fix
 * autocannon timed each response from an ever older request on closing servers (seconds).
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStats, runLoad } from '../../../src/pipeline/load.ts';
import { agrees, measureIndependently } from '../../helpers/independent-client.ts';

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
  // Keep-alive, headers and body in two writes with Nagle on (net's default).
  const split = net.createServer((sock) => {
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(i + 4);
        sock.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\n');
        sock.write('ok');
      }
    });
    sock.on('error', () => undefined);
  });
  await listen(split, 'split');
});
afterAll(() => servers.forEach((s) => s.close()));

describe('load client vs an independent client', () => {
  for (const kind of ['keepalive', 'close', 'eof', 'split']) {
    it(`${kind}: pier's p50 and p95 agree with the independent client's`, async () => {
      const res = await runLoad({ url: urls[kind]!, method: 'GET', connections: 4, durationSeconds: 1 });
      const pier = loadStats(res);
      const indep = await measureIndependently(urls[kind]!, 4, 800);
      const figures = JSON.stringify({ pier: [pier.p50Ms, pier.p95Ms], independent: [indep.p50Ms, indep.p95Ms] });
      expect(indep.failures).toBe(0);
      expect(indep.latencies.length).toBeGreaterThan(20);
      expect(pier.errors).toBe(0);
      expect(pier.requests).toBeGreaterThan(20);
      expect(agrees(pier.p50Ms, indep.p50Ms, 10), figures).toBe(true);
      expect(agrees(pier.p95Ms, indep.p95Ms, 30), figures).toBe(true);
    });
  }
});

describe('agrees (pure)', () => {
  it('within a factor of 2 or the slack, either way', () => {
    expect(agrees(44, 44, 10)).toBe(true);
    expect(agrees(14, 6, 10)).toBe(true); // +8 ms: inside the slack
    expect(agrees(44, 8.5, 10)).toBe(false); // the keep-alive gap against a fresh-connection client
    expect(agrees(4800, 26, 30)).toBe(false); // the closing-server fault
    expect(agrees(20, 44, 10)).toBe(false); // reads too low
    expect(agrees(25, 44, 10)).toBe(true);
  });
});
