/** Release records, lock records and audit lines: the JSON pier keeps on each host. Pure. */

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

export type ReleaseEvent = 'deployed' | 'rolled-back' | 'rollback';

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

/** Parse releases.jsonl (malformed lines skipped). */
export function parseReleases(text: string): ReleaseRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as ReleaseRecord];
      } catch {
        return [];
      }
    });
}

/** One audit line: timestamp, who, run, what happened. */
export function auditLine(at: Date, by: string, run: string, message: string): string {
  return `${at.toISOString()} ${by} run=${run} ${message.replace(/\s*\n\s*/g, ' ')}`;
}
