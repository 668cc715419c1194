/** Verdicts on the hosts: append to and read `<deploy.dir>/<app>/verdicts.jsonl` on every host. */
import { appendLine, readFile } from '../deploy/commands/host.ts';
import type { HostOps } from '../deploy/host-ops.ts';
import { parseVerdicts, verdictLine, type Verdict } from './verdicts.ts';

export const verdictFile = (o: HostOps): string => o.layout.releasesLog.replace(/releases\.jsonl$/, 'verdicts.jsonl');

/** Append `v` on every host (the same line everywhere; a host that fails is named in the error). */
export async function recordVerdict(ops: readonly HostOps[], v: Verdict): Promise<void> {
  const line = verdictLine(v);
  const results = await Promise.allSettled(ops.map((o) => o.h.run(appendLine(verdictFile(o), line))));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${ops[i]!.name}: ${(r.reason as Error).message}`] : []));
  if (failed.length === ops.length) throw new Error(`could not record the ${v.kind} verdict on any host: ${failed.join('; ')}`);
}

/** Every host's verdicts, merged. */
export async function readVerdicts(ops: readonly HostOps[]): Promise<Verdict[]> {
  return parseVerdicts(await Promise.all(ops.map((o) => o.h.run(readFile(verdictFile(o))))));
}
