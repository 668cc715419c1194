/** Container output as text: Docker's multiplexed stream split in two, failure excerpts (pure). */

/**
 * Split Docker's multiplexed log/attach stream (8-byte frame headers: stream 1 stdout, 2 stderr,
 * 4-byte big-endian length) into its two streams (pure). A container with a TTY has no frames:
 * everything is stdout. Never lets a header byte through to a terminal or a report.
 */
export function demuxDockerStream(buf: Buffer): { stdout: string; stderr: string } {
  const framed = (off: number) => off + 8 <= buf.length && (buf[off] === 0 || buf[off] === 1 || buf[off] === 2) && buf[off + 1] === 0 && buf[off + 2] === 0 && buf[off + 3] === 0;
  if (buf.length && !framed(0)) return { stdout: buf.toString('utf8'), stderr: '' };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let off = 0;
  while (framed(off)) {
    const len = buf.readUInt32BE(off + 4);
    const body = buf.subarray(off + 8, off + 8 + len);
    (buf[off] === 2 ? err : out).push(body);
    off += 8 + len;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** The last `n` lines of each stream, labelled, for a failure message (pure). */
export function formatStreams(s: { stdout: string; stderr: string }, n = 20): string {
  const tail = (t: string) => t.replace(/\s+$/, '').split('\n').slice(-n);
  const parts: string[] = [];
  for (const [name, text] of [['stdout', s.stdout], ['stderr', s.stderr]] as const) {
    if (!text.trim()) parts.push(`${name}: (empty)`);
    else parts.push(`last ${Math.min(n, tail(text).length)} lines of ${name}:\n${tail(text).map((l) => `  ${l}`).join('\n')}`);
  }
  return parts.join('\n');
}
