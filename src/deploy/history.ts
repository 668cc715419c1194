/**
 * Which release a rollback goes to, from each host's recorded history. Pure.
 *
 * A host's history (releases.jsonl) is replayed into the stack of releases that served on it:
 * a `deployed` record pushes; a rollback (`rollback` by hand, `rolled-back` by a failed deploy)
 * back to a release on the stack pops everything above it (those were left as bad), and one to
 * a release not on the stack (`--to` forward) pushes it. A release that never served (started,
 * never switched: no record) is never on the stack, so it is never a target; a release that was
 * rolled back is popped, so a second rollback goes further back, never forward to it.
 */
import type { CurrentRelease, ReleaseRecord } from './records.ts';

/** One release that served on a host (its exact container). */
export interface Served {
  version: string;
  container: string;
  image: string;
}

/** What a host knows about itself: its current.json, its history, the containers it retains. */
export interface HostHistory {
  host: string;
  current?: Pick<CurrentRelease, 'version' | 'container' | 'image'>;
  records: readonly ReleaseRecord[];
  /** Release containers present on the host (running or stopped). */
  retained: readonly { name: string; release: string; image?: string; state?: string }[];
}

const lastIndex = (stack: readonly Served[], container: string): number => {
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i]!.container === container) return i;
  return -1;
};

const served = (r: { version: string; container: string; image: string }): Served => ({ version: r.version, container: r.container, image: r.image });

/** The releases that served on a host, oldest first; the last is the one serving now. */
export function servedStack(h: Pick<HostHistory, 'current' | 'records'>): Served[] {
  const stack: Served[] = [];
  for (const r of h.records) {
    if (!r.version || !r.container) continue;
    const at = lastIndex(stack, r.container);
    if (r.event === 'deployed') {
      if (stack.at(-1)?.container !== r.container) stack.push(served(r));
    } else if (at >= 0) stack.length = at + 1; // back to a release that served: everything above it was left
    else stack.push(served(r)); // a rollback --to a release not on the stack moves forward
  }
  // current.json is written before the history line: a crash between the two still counts.
  if (h.current?.container && stack.at(-1)?.container !== h.current.container) {
    const at = lastIndex(stack, h.current.container);
    if (at >= 0) stack.length = at + 1;
    else stack.push(served(h.current));
  }
  return stack;
}

/** Per host: what it serves and the release it goes back to (undefined: nothing retained to go to). */
export interface HostRollbackState {
  host: string;
  current?: Served;
  /** The release that served before the current one and is still retained. */
  previous?: Served;
  stack: Served[];
}

export function hostRollbackState(h: HostHistory): HostRollbackState {
  const stack = servedStack(h);
  const retained = new Set(h.retained.map((c) => c.name));
  const current = stack.at(-1);
  let previous: Served | undefined;
  for (let i = stack.length - 2; i >= 0; i--) {
    const s = stack[i]!;
    // Same container or same version as now is no step back; a pruned container cannot be used.
    if (s.container === current?.container || s.version === current?.version || !retained.has(s.container)) continue;
    previous = s;
    break;
  }
  return { host: h.host, current, previous, stack };
}

export type RollbackDecision =
  | {
      ok: true;
      /** 'previous': every host to its own previous release (they agree); 'converge': hosts disagreed; 'to': --to. */
      mode: 'previous' | 'converge' | 'to';
      version: string;
      hosts: { host: string; from?: Served; to: Served }[];
      states: HostRollbackState[];
    }
  | { ok: false; reason: string; states: HostRollbackState[] };

/** One line per host for messages: what it serves and what it would go back to. */
export function describeStates(states: readonly HostRollbackState[]): string[] {
  return states.map((s) => `${s.host}: serving ${s.current?.version ?? '(nothing recorded)'}, before that ${s.previous?.version ?? '(nothing retained)'}`);
}

/**
 * Decide a rollback for the fleet.
 * - `to`: each host to its newest retained container of that version that ever served there.
 * - otherwise each host to the release that served before its current one; when those differ
 *   between hosts, converge on the newest release that served on every host (and is retained
 *   on every host), which never moves a host forward; with none, refuse (the caller asks for --to).
 */
export function decideRollback(hosts: readonly HostHistory[], to?: string): RollbackDecision {
  const states = hosts.map(hostRollbackState);
  const retainedOn = new Map(hosts.map((h) => [h.host, new Set(h.retained.map((c) => c.name))]));
  if (to !== undefined) {
    const missing: string[] = [];
    const plan = states.map((s, i) => {
      // A host already on it stays; otherwise the newest retained container of that version that
      // served there at any time (the operator may choose a release rolled back earlier).
      const everServed = [...hosts[i]!.records.filter((r) => r.container).map(served), ...s.stack].reverse();
      const pick = s.current?.version === to ? s.current : everServed.find((x) => x.version === to && retainedOn.get(s.host)!.has(x.container));
      if (!pick) missing.push(s.host);
      return { host: s.host, from: s.current, to: pick! };
    });
    if (missing.length) return { ok: false, reason: `no retained release "${to}" that served on ${missing.join(', ')}`, states };
    return { ok: true, mode: 'to', version: to, hosts: plan, states };
  }
  const versions = new Set(states.map((s) => s.previous?.version));
  const first = states[0]?.previous;
  if (first && versions.size === 1) {
    return { ok: true, mode: 'previous', version: first.version, hosts: states.map((s) => ({ host: s.host, from: s.current, to: s.previous! })), states };
  }
  // Hosts disagree: the newest release that served on all of them, retained everywhere, and not
  // what every host already serves (that would change nothing).
  const onAll = (version: string) => states.every((s) => s.stack.some((x) => x.version === version && retainedOn.get(s.host)!.has(x.container)));
  const allServing = (version: string) => states.every((s) => s.current?.version === version);
  const candidates = [...(states[0]?.stack ?? [])].reverse().map((x) => x.version);
  const common = candidates.find((v) => onAll(v) && !allServing(v));
  if (!common) return { ok: false, reason: 'the hosts disagree and no release that served on all of them is retained', states };
  const plan = states.map((s) => {
    const pick = s.current?.version === common ? s.current : [...s.stack].reverse().find((x) => x.version === common && retainedOn.get(s.host)!.has(x.container))!;
    return { host: s.host, from: s.current, to: pick };
  });
  return { ok: true, mode: 'converge', version: common, hosts: plan, states };
}
