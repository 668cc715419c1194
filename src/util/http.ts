/**
 * A tiny GET over node:http with a hard timeout. Used for health polling instead of fetch: undici
 * keeps no ref'd handle while a connection to a just-published port is pending, so a process
 * whose only work is that poll can exit with "unsettled top-level await".
 */
import { request } from 'node:http';

export function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', (e) => (clearTimeout(timer), reject(e)));
    });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => (clearTimeout(timer), reject(e)));
    req.end();
  });
}
