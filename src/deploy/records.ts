/** Release records, lock records and audit lines: the JSON pier keeps on each host. Pure but for audit lines, which go through the redactor. */
import { redact } from '../util/redact.ts';

export interface LockInfo {
  by: string;
  run: string;
  version: string;
  at: string;
  pid: number;
  command: string;
}

export interface CurrentRelease {
  version: string;
  image: string;
  container: string;
  since: string;
  by: string;
  run: string;
}

/** `reconciled`: the records caught up with what the host's proxy config points at (history.ts
 * treats it like a rollback: back to a release on the stack, or forward to a new one). */
export type ReleaseEvent = 'deployed' | 'rolled-back' | 'rollback' | 'reconciled';

export interface ReleaseRecord extends CurrentRelease {
  event: ReleaseEvent;
  /** For rollbacks: the release that was replaced. */
  from?: string;
}

/** Human description of a lock holder, used when a deploy is refused. */
export function describeHolder(l: LockInfo): string {
  return `${l.by} (${l.command} ${l.version}, run ${l.run}, since ${l.at})`;
}

/** Parse a lock record; a lock directory without a readable record still counts as held. */
export function parseLock(text: string): LockInfo | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t) as LockInfo;
  } catch {
    return { by: 'unknown', run: 'unknown', version: 'unknown', at: 'unknown', pid: 0, command: 'unknown' };
  }
}

/** Parse releases.jsonl (malformed lines skipped: for listings). */
export function parseReleases(text: string): ReleaseRecord[] {
  return parseReleaseLog(text).records;
}

/** Parse releases.jsonl, keeping the 1-based numbers of malformed lines (a rollback refuses to guess). */
export function parseReleaseLog(text: string): { records: ReleaseRecord[]; bad: number[] } {
  const records: ReleaseRecord[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    try {
      const r = JSON.parse(l) as ReleaseRecord;
      if (typeof r !== 'object' || r === null || typeof r.version !== 'string') throw new Error('not a release record');
      records.push(r);
    } catch {
      bad.push(i + 1);
    }
  });
  return { records, bad };
}

/** Parse current.json: undefined when empty; throws a plain Error saying what is wrong otherwise. */
export function parseCurrent(text: string): CurrentRelease | undefined {
  const t = text.trim();
  if (!t) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    throw new Error(`not valid JSON (${t.length} bytes; truncated?)`);
  }
  const c = v as Partial<CurrentRelease> | null;
  if (!c || typeof c !== 'object' || typeof c.version !== 'string' || typeof c.container !== 'string' || typeof c.image !== 'string') {
    throw new Error('expected an object with version, image and container');
  }
  return c as CurrentRelease;
}

/** One audit line: timestamp, who, run, what happened. */
export function auditLine(at: Date, by: string, run: string, message: string): string {
  // Redacted here, the one writer of audit lines: the audit log lives on every host.
  return `${at.toISOString()} ${by} run=${run} ${redact(message).replace(/\s*\n\s*/g, ' ')}`;
}
