/**
 * The fault-injection harness: for a scenario (rolling, blue-green or canary deploy of v3 over
 * v2, or a rollback from v2: `rollback` once the rollback window is over and v1 is stopped,
 * `rollback-warm` within it, v1 still running) on 3 simulated hosts, run it once to count its host commands N,
 * then for every k in 1..N and every fault kind (crash after k, command k fails, command k's host
 * unreachable) run it again; check the invariants; then run what an operator would (a fresh
 * process: `lock release`, then `pier rollback`, or the same verb again) and check again.
 *
 * Invariants (docs/operations.md):
 *  (a) at every moment every host's proxy points at a running container that passed its health
 *      check (checked by the fleet after every command);
 *  (b) after recovery every host serves the intended release (redo: v3; rollback: v2 when any
 *      host serves v3, even in part, else v1; after an interrupted rollback: `rollback --to v1`) and current.json, the release
 *      history and the audit log say so (and a process that survived its fault leaves every host
 *      it could reach on one release, recorded);
 *  (c) the lock is released, or held with its holder shown by every verb that meets it
 *      (deploy, rollback, status, lock status);
 *  (d) no retained container is lost that a rollback needs (the release each host served before
 *      its current one, from the host's own serving lineage).
 */
import { Progress } from '../../src/deploy/progress.ts';
import { installVirtualClock } from './clock.ts';
import { SimFleet, type Fault, type FaultKind, type FleetSnapshot, type Invariant, type SimProcess, type Violation } from './fleet.ts';
import { deploy, lockRelease, lockStatus, LockHeldError, rollback, status } from './verbs.ts';

export const SCENARIOS = ['rolling', 'blue-green', 'canary', 'rollback', 'rollback-warm'] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** Kinds swept over every command k; 'down' is swept over every host. */
export const FAULT_KINDS: FaultKind[] = ['crash', 'fail', 'unreachable', 'down'];
export const HOSTS = ['web1', 'web2', 'web3'];

const quiet = () => new Progress(() => undefined);
/** The scenario is `pier rollback` (from a settled fleet or within the rollback window). */
export const isRollback = (s: Scenario): s is 'rollback' | 'rollback-warm' => s === 'rollback' || s === 'rollback-warm';
const strategyOf = (s: Scenario) => (isRollback(s) ? 'rolling' : s);

type Outcome = Awaited<ReturnType<SimProcess['run']>>;

/** The scenario's verb in process `proc`: deploy v3 (strategy) or rollback. Returns its run id. */
async function operate(fleet: SimFleet, proc: SimProcess, scenario: Scenario, op: 'deploy' | 'rollback' = isRollback(scenario) ? 'rollback' : 'deploy', to?: string): Promise<{ run: string; ok: boolean; detail: string }> {
  const target = fleet.target(proc, { strategy: strategyOf(scenario) });
  if (op === 'rollback') {
    const r = await rollback(target, { progress: quiet(), ...(to ? { to } : {}) });
    return { run: r.run, ok: r.ok, detail: r.hosts.filter((h) => !h.ok).map((h) => `${h.host}: ${h.detail}`).join('; ') };
  }
  const r = await deploy(target, { version: 'v3', progress: quiet() });
  return { run: r.run, ok: r.ok, detail: r.error ?? '' };
}

/**
 * v1 then v2 deployed (rolling) on a fresh fleet. `settled`: the host timers fired (the rollback
 * and blue/green windows are over, v1 is stopped): every case but `rollback-warm` starts here.
 * `warm`: right after the v2 deploy, v1 still running (not serving) in its rollback window.
 */
export async function seed(): Promise<FleetSnapshot & { warm: FleetSnapshot }> {
  const fleet = SimFleet.create(HOSTS, ['v1', 'v2', 'v3']);
  for (const version of ['v1', 'v2']) {
    const r = await deploy(fleet.target(fleet.process()), { version, progress: quiet() });
    if (!r.ok) throw new Error(`seed deploy ${version} failed: ${r.error}`);
  }
  const warm = fleet.snapshot();
  fleet.elapse();
  if (fleet.violations.length || fleet.unknown.length) throw new Error(`seed broke an invariant: ${JSON.stringify([...fleet.violations, ...fleet.unknown.map(String)])}`);
  return { ...fleet.snapshot(), warm };
}

/** The fleet a scenario starts from (see seed). */
export function startOf(start: FleetSnapshot & { warm: FleetSnapshot }, scenario: Scenario): FleetSnapshot {
  return scenario === 'rollback-warm' ? start.warm : start;
}

export interface CaseResult {
  scenario: Scenario;
  fault?: Fault;
  /** Host the fault hit. */
  host?: string;
  violations: Violation[];
  /** Every recovery run completed with the fleet on the intended release. */
  recovered: boolean;
  /** Host commands the faulted process ran. */
  commands: number;
  /** Commands the simulator was not taught (a harness failure, never a pass). */
  unknown: string[];
}

/** Check (a)-(d) that hold after any run, and (c) through every verb that meets a held lock. */
async function checkLocks(fleet: SimFleet, phase: string, survivor: { lockHeld?: string[] } | undefined, faultHost?: string): Promise<void> {
  const add = (invariant: Invariant, detail: string, host?: string) => fleet.violations.push({ invariant, detail, host, phase });
  const held = fleet.hosts.filter((h) => h.s.dirs.includes('/var/lib/pier/lock'));
  if (survivor) {
    for (const h of held) {
      if (h.name === faultHost || survivor.lockHeld?.includes(h.name)) continue;
      add('c', 'lock left held by a process that exited (and did not report it held)', h.name);
    }
  }
  if (!held.length) return;
  const runs = new Map(held.map((h) => [h.name, /"run":"([^"]+)"/.exec(h.s.files['/var/lib/pier/lock/info.json'] ?? '')?.[1] ?? 'unknown']));
  const saved = fleet.phase;
  fleet.phase = `${phase}: verbs meeting the lock`;
  const ls = await lockStatus(fleet.target(fleet.process())).catch((e: Error) => e);
  if (ls instanceof Error) add('c', `pier lock status failed: ${ls.message}`);
  else for (const h of held) if (ls.find((l) => l.host === h.name)?.holder?.run !== runs.get(h.name)) add('c', 'pier lock status does not show the holder', h.name);
  const st = await status(fleet.target(fleet.process())).catch((e: Error) => e);
  if (st instanceof Error) add('c', `pier status failed: ${st.message}`);
  else for (const h of held) if (st.find((l) => l.host === h.name)?.lock?.run !== runs.get(h.name)) add('c', 'pier status does not show the lock holder', h.name);
  for (const verb of ['deploy', 'rollback'] as const) {
    const out = await operate(fleet, fleet.process(), 'rolling', verb).then(
      () => undefined,
      (e: Error) => e,
    );
    if (!out) add('c', `pier ${verb} went ahead although the lock is held`);
    else if (!(out instanceof LockHeldError) || ![...runs.values()].some((r) => out.message.includes(r))) add('c', `pier ${verb} refused without naming the holder: ${out.message.split('\n')[0]}`);
  }
  fleet.phase = saved;
}

/** (d): on every host, the container of the release it served before the current one still exists. */
function checkRetained(fleet: SimFleet, phase: string): void {
  for (const h of fleet.hosts) {
    const l = h.s.lineage;
    for (const e of l.slice(-2)) {
      if (!h.s.containers[e.container]) fleet.violations.push({ invariant: 'd', host: h.name, detail: `${e.container} (${e.release}, ${e === l[l.length - 1] ? 'serving' : 'the rollback target'}) was removed`, phase });
    }
  }
}

/** (b): every host serves `version` (one upstream), and its records say so; `run` wrote the audit log. */
function checkServes(fleet: SimFleet, phase: string, version: string | ((host: string) => string), run: string | undefined, hosts = fleet.hosts): void {
  for (const h of hosts) {
    const want = typeof version === 'string' ? version : version(h.name);
    const add = (detail: string) => fleet.violations.push({ invariant: 'b', host: h.name, detail, phase });
    const serving = h.serving();
    if (serving.length !== 1 || serving[0]!.release !== want) {
      add(`serves ${serving.map((s) => s.release).join('+') || 'nothing'}, intended ${want}`);
      continue;
    }
    const container = serving[0]!.container;
    const cur = safeJson(h.s.files['/var/lib/pier/api/current.json']);
    if (cur?.container !== container) add(`current.json says ${cur ? `${cur.version} (${cur.container})` : 'nothing'} but the proxy serves ${want} (${container})`);
    const history = (h.s.files['/var/lib/pier/api/releases.jsonl'] ?? '').trim().split('\n');
    const last = safeJson(history[history.length - 1]);
    if (last?.container !== container) add(`release history ends with ${last ? `${last.version} (${last.container})` : 'nothing'}, the proxy serves ${want} (${container})`);
    if (run && !(h.s.files['/var/lib/pier/audit.log'] ?? '').includes(`run=${run} `)) add(`audit log has no line of run ${run}`);
  }
}

function safeJson(text: string | undefined): { version?: string; container?: string } | undefined {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** What a rollback after this state must reach: v2 when any host serves v3 (even in part), else v1. */
function rollbackIntended(fleet: SimFleet, scenario: Scenario): string {
  if (isRollback(scenario)) return 'v1';
  return fleet.hosts.some((h) => h.serving().some((s) => s.release === 'v3')) ? 'v2' : 'v1';
}

/** Run one case: the faulted run, its checks, then each recovery on a copy of the fleet. */
export async function runCase(start: FleetSnapshot, scenario: Scenario, fault?: Fault): Promise<CaseResult & { n?: number }> {
  const fleet = new SimFleet(start);
  fleet.phase = 'fault';
  const proc = fleet.process(fault);
  if (fault?.kind === 'down') {
    proc.faultHost = fleet.hosts[fault.k - 1]!.name;
    fleet.unreachable.add(proc.faultHost);
  }
  const out: Outcome = await proc.run(() => operate(fleet, proc, scenario));
  const faultHost = proc.faultHost;
  // The network heals, time passes (host-side timers fire).
  fleet.unreachable.clear();
  fleet.elapse();
  const result = out.killed ? undefined : (out.value as { run: string; ok: boolean; detail: string } | undefined);
  if (!out.killed) {
    // A process that lived must leave every host it could reach on one release, recorded.
    const reach = fleet.hosts.filter((h) => !((fault?.kind === 'unreachable' || fault?.kind === 'down') && h.name === faultHost));
    if (result) {
      const want = result.ok ? (isRollback(scenario) ? 'v1' : 'v3') : undefined;
      const before = (host: string) => (isRollback(scenario) ? (result.ok ? 'v1' : fleet.host(host).serving()[0]?.release ?? '?') : 'v2');
      if (want) checkServes(fleet, 'fault', want, result.run, reach);
      else if (!isRollback(scenario)) checkServes(fleet, 'fault', before, result.run, reach);
      else checkServes(fleet, 'fault', (host) => fleet.host(host).serving()[0]?.release ?? '?', undefined, reach);
    } else checkServes(fleet, 'fault', isRollback(scenario) ? (host) => fleet.host(host).serving()[0]?.release ?? '?' : 'v2', undefined, reach);
  }
  await checkLocks(fleet, 'fault', out.killed ? undefined : { lockHeld: lockHeldOf(out) }, faultHost);
  checkRetained(fleet, 'fault');
  const violations = [...fleet.violations];
  const unknown = fleet.unknown.map((e) => e.message);
  let recovered = true;
  const after = fleet.snapshot();
  for (const how of isRollback(scenario) ? (['rollback'] as const) : (['rollback', 'redo'] as const)) {
    const f = new SimFleet(after);
    const phase = `recovery: lock release, then ${how === 'redo' ? 'deploy v3 again' : 'rollback'}`;
    f.phase = phase;
    const intended = how === 'redo' ? 'v3' : rollbackIntended(f, scenario);
    await lockRelease(f.target(f.process())).catch((e: Error) => f.violations.push({ invariant: 'c', detail: `pier lock release failed: ${e.message}`, phase }));
    const p = f.process();
    // After an interrupted rollback the operator names the release (--to v1): "rollback" again
    // from a finished rollback would go further back.
    const r = await operate(f, p, scenario, how === 'redo' ? 'deploy' : 'rollback', isRollback(scenario) ? 'v1' : undefined).catch((e: Error) => e);
    f.elapse();
    if (r instanceof Error || !r.ok) {
      recovered = false;
      f.violations.push({ invariant: 'b', detail: `recovery did not complete: ${r instanceof Error ? r.message.split('\n')[0] : r.detail}`, phase });
    }
    checkServes(f, phase, intended, r instanceof Error ? undefined : r.run);
    for (const h of f.hosts) if (h.s.dirs.includes('/var/lib/pier/lock')) f.violations.push({ invariant: 'c', host: h.name, detail: 'lock still held after recovery', phase });
    checkRetained(f, phase);
    if (f.violations.some((v) => v.invariant === 'b')) recovered = false;
    violations.push(...f.violations);
    unknown.push(...f.unknown.map((e) => e.message));
  }
  return { scenario, fault, host: faultHost, violations, recovered, commands: proc.count, unknown };
}

function lockHeldOf(out: Outcome): string[] | undefined {
  if (out.killed) return undefined;
  const v = out.value as unknown as { lock?: { held: { host: string }[] } } | undefined;
  return v?.lock?.held.map((h) => h.host);
}

export interface SweepResult {
  scenario: Scenario;
  /** Host commands of the fault-free run. */
  n: number;
  cases: CaseResult[];
}

/** Every crash point of `scenario` (k = 1..N) for each fault kind; the fault-free run first. */
export async function sweep(seeded: FleetSnapshot & { warm: FleetSnapshot }, scenario: Scenario, kinds: FaultKind[] = FAULT_KINDS): Promise<SweepResult> {
  const start = startOf(seeded, scenario);
  const clean = await runCase(start, scenario);
  const n = clean.commands;
  const cases: CaseResult[] = [clean];
  for (const kind of kinds) for (let k = 1; k <= (kind === 'down' ? HOSTS.length : n); k++) cases.push(await runCase(start, scenario, { kind, k }));
  return { scenario, n, cases };
}

/** Run with the virtual clock installed (sleeps and Date.now of the code under test). */
export async function withVirtualTime<T>(fn: () => Promise<T>): Promise<T> {
  const clock = installVirtualClock();
  try {
    return await fn();
  } finally {
    clock.uninstall();
  }
}

/** One line per violation: `scenario kind k=K [invariant] host: detail (phase)`. */
export function describe(c: CaseResult): string[] {
  const head = `${caseKey(c)}${c.host ? ` (${c.host})` : ''}`;
  return [...c.unknown.map((u) => `${head} [harness] ${u}`), ...c.violations.map((v) => `${head} [${v.invariant}] ${v.host ?? 'fleet'}: ${v.detail} (${v.phase})`)];
}

/** `scenario kind k=K` (or `scenario no fault`): the key of a case in the known-violations list. */
export function caseKey(c: Pick<CaseResult, 'scenario' | 'fault'>): string {
  return `${c.scenario} ${c.fault ? `${c.fault.kind} k=${c.fault.k}` : 'no fault'}`;
}

/** The invariants a case broke, as one sorted string ("ab"); "harness" when a command was unknown. */
export function brokenInvariants(c: CaseResult): string {
  if (c.unknown.length) return 'harness';
  return [...new Set(c.violations.map((v) => v.invariant))].sort().join('');
}

/** Case key -> invariants broken, for every case that broke any. */
export function violationMap(results: SweepResult[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of results) for (const c of r.cases) if (brokenInvariants(c)) out[caseKey(c)] = brokenInvariants(c);
  return out;
}
