/**
 * Bring a host's records (current.json, releases.jsonl) in line with what its proxy config points
 * at. The config (written atomically, one `# pier-serves` comment per upstream, see
 * commands/nginx.ts) is the ground truth of what serves; the records are written after each
 * switch, so a process that died or lost the host between the two left them behind. Every verb
 * that decides from the records (deploy, rollback) calls this first, under the lock; a switch
 * whose later steps fail calls it too, so what it leaves is recorded truthfully.
 */
import { parseProxyServes, type ProxyServes } from './commands/nginx.ts';
import type { HostOps } from './host-ops.ts';
import type { CurrentRelease, ReleaseRecord } from './records.ts';

export interface Reconciled {
  /** The proxy points at more than one release (an interrupted canary step). */
  mixed: boolean;
  /** What was repaired ('' when the records already agreed). */
  repaired: string;
  /** current.json and the release history as they are after reconciling: callers need not read them again. */
  current: CurrentRelease | undefined;
  records: ReleaseRecord[];
}

/**
 * The release a config points at, for the records: its only upstream, or for a weighted config
 * the last one (the canary: the new release, so a rollback goes back to the release before it).
 */
export function servingOf(serves: readonly ProxyServes[]): ProxyServes | undefined {
  return serves.at(-1);
}

/**
 * Reconcile one host's records with its proxy config, in one round of reads. `strictHistory`
 * (rollback, which decides from the history): a malformed history line is a HostStateError naming
 * it; otherwise such lines are skipped.
 */
export async function reconcileRecords(o: HostOps, by: string, runId: string, opts: { strictHistory?: boolean } = {}): Promise<Reconciled> {
  const [conf, cur, records] = await Promise.all([o.proxyConf(), o.readCurrent(), opts.strictHistory ? o.readHistory() : o.readReleases()]);
  const serves = parseProxyServes(conf);
  const truth = servingOf(serves);
  const lastRecorded = records.at(-1)?.container;
  const mixed = serves.length > 1;
  const record = (r: Pick<CurrentRelease, 'version' | 'image' | 'container'>, from?: string) => {
    const c: CurrentRelease = { version: r.version, image: r.image, container: r.container, since: new Date().toISOString(), by, run: runId };
    return { cur: c, rec: { ...c, event: 'reconciled' as const, ...(from ? { from } : {}) } };
  };
  const unchanged = { mixed, repaired: '', current: cur, records };
  if (!truth) {
    // A config without identities (written by an older pier): the history catches up with current.json.
    if (cur && lastRecorded !== cur.container) {
      const { rec } = record(cur);
      await o.recordRelease(rec);
      return { ...unchanged, repaired: `history caught up with current.json (${cur.version})`, records: [...records, rec] };
    }
    return unchanged;
  }
  if (cur?.container === truth.container) {
    if (lastRecorded === truth.container) return unchanged;
    const { rec } = record(truth, cur.version);
    await o.recordRelease(rec);
    return { ...unchanged, repaired: `history caught up with current.json (${truth.version})`, records: [...records, rec] };
  }
  // The config names another release than current.json: make sure nginx has loaded that config
  // (the process may have died between the write and the reload), then record it.
  await o.switchProxy(serves.map((s) => ({ address: s.address, release: s.version, container: s.container, image: s.image, ...(s.weight !== undefined ? { weight: s.weight } : {}) })));
  const { cur: c, rec } = record(truth, cur?.version);
  await o.recordSwitch(c, rec);
  return { mixed, repaired: `records said ${cur?.version ?? 'nothing'}, the proxy serves ${serves.map((s) => s.version).join('+')}`, current: c, records: [...records, rec] };
}
