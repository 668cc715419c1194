import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { demuxDockerStream, formatStreams } from '../../../src/engine/streams.ts';
import { AppFailedError } from '../../../src/engine/types.ts';
import { waitHealthy } from '../../../src/pipeline/stages/loadtest.ts';

const frame = (stream: 1 | 2, text: string) => {
  const body = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
};

describe('Docker stream demultiplexing', () => {
  it('splits stdout and stderr frames and drops every header byte', () => {
    const buf = Buffer.concat([frame(1, 'listening on 8000\n'), frame(2, 'Traceback (most recent call last):\n'), frame(2, 'KeyError: DATABASE_URL\n'), frame(1, 'bye\n')]);
    const s = demuxDockerStream(buf);
    expect(s).toEqual({ stdout: 'listening on 8000\nbye\n', stderr: 'Traceback (most recent call last):\nKeyError: DATABASE_URL\n' });
    expect(`${s.stdout}${s.stderr}`).not.toMatch(/[\x00-\x08]/);
  });

  it('passes a TTY stream (no frames) through as stdout; empty is empty', () => {
    expect(demuxDockerStream(Buffer.from('plain output\n'))).toEqual({ stdout: 'plain output\n', stderr: '' });
    expect(demuxDockerStream(Buffer.alloc(0))).toEqual({ stdout: '', stderr: '' });
  });

  it('formats the last lines of both streams, labelled', () => {
    const out = formatStreams({ stdout: Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n'), stderr: 'fatal: boom\n' }, 5);
    expect(out).toBe('last 5 lines of stdout:\n  line 25\n  line 26\n  line 27\n  line 28\n  line 29\nlast 1 lines of stderr:\n  fatal: boom');
    expect(formatStreams({ stdout: '', stderr: 'x' })).toMatch(/^stdout: \(empty\)\nlast 1 lines of stderr:\n {2}x$/);
  });
});

describe('health wait', () => {
  it('reports an exited app at once with its exit code and stderr (not after the timeout)', async () => {
    const t0 = Date.now();
    const exited = new Promise<{ exitCode: number; stdout: string; stderr: string }>((r) => setTimeout(() => r({ exitCode: 3, stdout: '', stderr: 'fatal: PORT is not set\n' }), 200));
    // A loopback port this test held and released: nothing answers, like an app that died.
    const held = http.createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    const port = (held.address() as AddressInfo).port;
    await new Promise((r) => held.close(r));
    const err = await waitHealthy(`http://127.0.0.1:${port}/health`, 60_000, undefined, exited).catch((e) => e);
    expect(err).toBeInstanceOf(AppFailedError);
    expect(err.message).toMatch(/exited with code 3/);
    expect(err.message).toMatch(/fatal: PORT is not set/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('an app answering 500 is the app failing (AppFailedError: a gate), naming the status', async () => {
    const srv = http.createServer((_q, s) => s.writeHead(500).end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const err = await waitHealthy(`http://127.0.0.1:${(srv.address() as AddressInfo).port}/health`, 800).catch((e) => e);
      expect(err).toBeInstanceOf(AppFailedError);
      expect(err.message).toMatch(/did not become healthy within 0.8 s \(HTTP 500\)/);
    } finally {
      srv.close();
    }
  });
});
