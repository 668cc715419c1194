/** Byte and text plumbing of the Docker API's streams: whole bodies, demuxed exec output, lines, tar. */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { redact } from '../util/redact.ts';

/**
 * Read the first regular file out of a tar archive (what the Docker archive API returns for one
 * path). Handles ustar headers; returns undefined when the archive holds no file.
 */
export function firstFileFromTar(tar: Buffer): Buffer | undefined {
  let off = 0;
  while (off + 512 <= tar.length) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) return undefined;
    const size = parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/, '').trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const body = off + 512;
    if (type === '0' || type === '\0') return tar.subarray(body, body + size);
    off = body + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** Split a stream of text into redacted lines for a line callback (keeps the partial tail). */
export function lineSplitter(onLine?: (line: string) => void): (chunk: string) => void {
  let buf = '';
  return (chunk) => {
    if (!onLine) return;
    buf += chunk;
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) onLine(redact(l));
  };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** stdout and stderr of a multiplexed exec/attach stream, once it ends. */
export async function collect(d: Docker, stream: NodeJS.ReadableStream): Promise<{ stdout: string; stderr: string }> {
  const so = new PassThrough();
  const se = new PassThrough();
  let stdout = '';
  let stderr = '';
  so.on('data', (b: Buffer) => (stdout += b.toString()));
  se.on('data', (b: Buffer) => (stderr += b.toString()));
  d.modem.demuxStream(stream, so, se);
  await new Promise<void>((r) => {
    stream.on('end', r);
    stream.on('close', r);
  });
  return { stdout, stderr };
}
