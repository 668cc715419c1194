/**
 * A reader's position in a log that rotates (the proxy's access log: `access.log`, renamed to
 * `access.log.1`, `.2`, ... by the rotation loop in the proxy container, src/deploy/commands/log-rotate.ts).
 * A position is the file's identity (inode) and a byte offset in it, for each file the reader has
 * seen, oldest first: the host-side read (`readLogSince`, src/deploy/commands/host.ts) finishes a
 * file that was rotated away from the remembered offset, then reads the newer files from 0, so a
 * rotation between two reads loses and repeats nothing. Pure.
 */

/** One file's identity and the bytes of it already read. */
export interface LogFilePosition {
  ino: string;
  offset: number;
}

/** Oldest first. Empty: nothing existed at the mark, so every file that appears is read from 0. */
export type LogCursor = readonly LogFilePosition[];

/** The host-side read's section header: `@pier-log <inode> <start> <size>` then the bytes start..size and a newline. */
export const SECTION_HEADER = '@pier-log';

/** The cursor as the read script's arguments (`ino:offset`, oldest first). */
export const cursorArgs = (c: LogCursor): string[] => c.map((p) => `${p.ino}:${p.offset}`);

/** `logMark`'s output (`<inode> <size>` of the live file, nothing when there is none) -> a cursor at its end. */
export function parseMark(text: string): LogCursor {
  const m = /^(\d+) (\d+)\s*$/.exec(text.trim());
  return m ? [{ ino: m[1]!, offset: Number(m[2]) }] : [];
}

/** One file's part of a read. */
export interface LogSection {
  ino: string;
  start: number;
  /** The file's size when read: the section holds the bytes start..size. */
  size: number;
  text: string;
}

/** Split the read script's output into its sections (oldest file first). */
export function parseSections(out: string): LogSection[] {
  const re = new RegExp(`(?:^|\\n)${SECTION_HEADER} (\\d+) (\\d+) (\\d+)\\n`, 'g');
  const heads = [...out.matchAll(re)];
  return heads.map((h, i) => {
    const from = h.index! + h[0].length;
    // Each section ends with the newline the script prints after its bytes; the next header's
    // leading `\n` is that newline.
    const to = i + 1 < heads.length ? heads[i + 1]!.index! : out.endsWith('\n') ? out.length - 1 : out.length;
    return { ino: h[1]!, start: Number(h[2]), size: Number(h[3]), text: out.slice(from, to) };
  });
}

/**
 * A read's complete lines (oldest file first) and the cursor after them. A line still being
 * written (no newline yet) is left for the next read: the file's offset stops before it. With no
 * section (no file on the host) the cursor stays as it was.
 */
export function afterRead(out: string, before: LogCursor): { text: string; cursor: LogCursor } {
  const sections = parseSections(out);
  if (sections.length === 0) return { text: '', cursor: before };
  let text = '';
  const cursor: LogFilePosition[] = [];
  for (const s of sections) {
    const complete = s.text.slice(0, s.text.lastIndexOf('\n') + 1);
    text += complete;
    cursor.push({ ino: s.ino, offset: s.start + Buffer.byteLength(complete) });
  }
  return { text, cursor };
}
