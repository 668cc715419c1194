import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A sortable, unique id for one run: 20261123-181742-a1b2. */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${iso}-${randomBytes(2).toString('hex')}`;
}

/**
 * Labels on everything a run creates. `pier.run` names the run; `pier.pid` and `pier.host` let a
 * later run tell whether the creator is still alive before reaping its leftovers.
 */
export function runLabels(runId: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'pier.run': runId, 'pier.pid': String(process.pid), 'pier.host': hostname(), ...extra };
}
