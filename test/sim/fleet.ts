/**
 * A simulated fleet: N in-memory hosts (host.ts) reached through `auth.transport`, and pier
 * processes (`SimProcess`) whose host commands can be faulted at command k:
 *   crash       - the process dies right after command k was carried out (SIGKILL): every later
 *                 command (its finally blocks included) hangs forever, nothing more reaches a host;
 *   fail        - command k is not carried out and exits 1 (a docker/ssh command that failed);
 *   unreachable - command k's host drops off the network from that command on (its commands and
 *                 connects fail as a lost SSH connection) until the harness heals it;
 *   down        - host k is unreachable before the process starts.
 * Invariant (a) is checked on a host after every command carried out on it.
 */
import type { z } from 'zod';
import { Deploy } from '../../src/config/sections/environment.ts';
import type { ExecOptions, RemoteConnection, RemoteResult, Transport } from '../../src/deploy/ssh.ts';
import type { DeployTarget } from '../../src/deploy/target.ts';
import { EnvironmentError } from '../../src/util/errors.ts';
import { newHostState, SimHost, UnknownCommandError, type HealthMode, type HostState, type SimWorld } from './host.ts';
import * as host from '../../src/deploy/commands/host.ts';
import { scheduleStop } from '../../src/deploy/commands/retire.ts';
import { SWITCH_EXIT } from '../../src/deploy/commands/switch.ts';
import { scriptName, staleScripts } from './scripts.ts';

export type FaultKind = 'crash' | 'fail' | 'unreachable' | 'down';
export interface Fault {
  kind: FaultKind;
  /** 1-based index of the process's host command the fault hits ('down': of the host, down from the start). */
  k: number;
}

export type Invariant = 'a' | 'b' | 'c' | 'd';
export interface Violation {
  invariant: Invariant;
  host?: string;
  detail: string;
  /** Which run of the case saw it (e.g. "fault", "recovery rollback"). */
  phase: string;
}

export const APP = 'api';
export const REGISTRY = 'reg:5000';
export const IMAGE_REPO = 'pier/api';
export const PROXY_IMAGE = 'nginx:1.27';

export interface FleetSnapshot {
  hosts: HostState[];
  clock: number;
  registry: Record<string, string>;
  health: Record<string, HealthMode>;
}

type DeploySettings = z.input<typeof Deploy>;

export class SimFleet {
  readonly hosts: SimHost[];
  readonly world: SimWorld;
  clock: number;
  readonly violations: Violation[] = [];
  /** Commands the simulator did not know: always a harness failure. */
  readonly unknown: Error[] = [];
  readonly unreachable = new Set<string>();
  phase = 'setup';
  private readonly open = new Map<string, Set<string>>();
  private readonly health: Record<string, HealthMode>;
  private readonly registry: Record<string, string>;

  constructor(snap: FleetSnapshot) {
    const stale = staleScripts();
    if (stale.length) throw new Error(`simulator out of date: the builders of ${stale.join(', ')} produce a different script now; teach test/sim/host.ts the new one and update test/sim/scripts.ts`);
    const s = structuredClone(snap);
    this.clock = s.clock;
    this.health = s.health;
    this.registry = s.registry;
    this.world = { app: APP, appPort: 3000, proxyPort: 8080, healthPath: '/health', health: this.health, registry: this.registry, now: () => this.clock };
    this.hosts = s.hosts.map((h) => new SimHost(h, this.world));
  }

  /** A fresh fleet of `names`, the proxy image present, `versions` published to the registry. */
  static create(names: string[], versions: string[]): SimFleet {
    const registry = Object.fromEntries(versions.map((v) => [`${REGISTRY}/${IMAGE_REPO}:${v}`, `${REGISTRY}/${IMAGE_REPO}@sha256:${v.padEnd(8, '0')}`]));
    return new SimFleet({ hosts: names.map((n) => newHostState(n, [PROXY_IMAGE])), clock: 1, registry, health: {} });
  }

  snapshot(): FleetSnapshot {
    return structuredClone({ hosts: this.hosts.map((h) => h.s), clock: this.clock, registry: this.registry, health: this.health });
  }

  setHealth(version: string, mode: HealthMode): void {
    this.health[version] = mode;
  }

  host(name: string): SimHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no simulated host ${name}`);
    return h;
  }

  /** A new pier process (fresh sessions) on this fleet, optionally faulted. */
  process(fault?: Fault): SimProcess {
    return new SimProcess(this, fault);
  }

  /** Time passes: host-side timers fire (checked like any command). */
  elapse(): void {
    for (const h of this.hosts) {
      if (this.unreachable.has(h.name)) continue;
      h.elapse();
      this.afterCommand(h, 'time passes (host timers)');
    }
  }

  /** Invariant (a) after a command on `h`: a problem is recorded when it appears (not again while it lasts). */
  afterCommand(h: SimHost, what: string): void {
    h.observe();
    const problems = h.servingProblems();
    const before = this.open.get(h.name) ?? new Set<string>();
    for (const p of problems) if (!before.has(p)) this.violations.push({ invariant: 'a', host: h.name, detail: `${p} (after ${what})`, phase: this.phase });
    this.open.set(h.name, new Set(problems));
  }

  /** Carry out one command of `proc` on host `name`, with the process's fault. */
  exec(proc: SimProcess, name: string, argv: readonly string[], opts: ExecOptions = {}): Promise<RemoteResult> {
    if (argv[0] === 'sh' && scriptName(argv[2] ?? '') === 'switchStep') return this.execSwitchStep(proc, name, argv.slice(4), opts);
    if (proc.dead) return proc.hang();
    if (this.unreachable.has(name)) return Promise.reject(lost(name));
    const k = ++proc.count;
    const f = proc.fault;
    if (f?.k === k && f.kind === 'fail') {
      proc.faultHost = name;
      return Promise.resolve({ code: 1, stdout: '', stderr: `simulated fault: ${argv[0]} failed` });
    }
    if (f?.k === k && f.kind === 'unreachable') {
      proc.faultHost = name;
      this.unreachable.add(name);
      return Promise.reject(lost(name));
    }
    const h = this.host(name);
    let input: string | undefined;
    if (typeof opts.input === 'string') input = opts.input;
    else if (Buffer.isBuffer(opts.input)) input = opts.input.toString();
    else if (opts.input) return Promise.reject(this.unknownCommand(new UnknownCommandError(name, argv, 'streamed input is not simulated')));
    let r: RemoteResult;
    try {
      r = h.exec(argv, input);
    } catch (e) {
      return Promise.reject(this.unknownCommand(e as Error));
    }
    this.clock++;
    proc.log.push({ host: name, argv: [...argv] });
    this.afterCommand(h, `${argv.slice(0, 3).join(' ')}`);
    if (f?.k === k && f.kind === 'crash') {
      proc.faultHost = name;
      proc.dead = true;
      return proc.hang();
    }
    return Promise.resolve(r);
  }

  /**
   * The switch step (src/deploy/commands/switch.ts) as the single-step commands it is made of, in
   * its order, each one a command of the process for faults: the real script can stop between
   * any two parts (pier killed: its next output line meets a closed channel), a part can fail
   * (the script exits with that part's code), the host can drop off mid-way.
   */
  private async execSwitchStep(proc: SimProcess, name: string, a: string[], opts: ExecOptions): Promise<RemoteResult> {
    const [hc, net, port, hpath, htime, log, conf, proxy, surl, stries, stime, cur, curjson, rel, relline, stopc, stopafter, lockdir] = a;
    const lines: string[] = [];
    const exit = (code: number): RemoteResult => ({ code, stdout: lines.map((l) => `${l}\n`).join(''), stderr: '' });
    if (hc) {
      const r = await this.exec(proc, name, host.healthProbe(hc, net!, Number(port), hpath!, Number(htime)));
      const [status = '000', running = ''] = r.code === 0 ? r.stdout.split('\n') : ['000', ''];
      lines.push(`@health ${status} ${running}`);
      if (status !== '200') return exit(SWITCH_EXIT.unhealthy);
    }
    const mark = await this.exec(proc, name, host.logMark(log!));
    lines.push(`@mark ${mark.code === 0 ? mark.stdout.trim() : ''}`);
    if ((await this.exec(proc, name, host.writeProxyConf(conf!, proxy!), opts)).code !== 0) return exit(SWITCH_EXIT.proxy);
    lines.push('@switched');
    let smoke = '';
    for (let k = 0; k < Number(stries); k++) {
      smoke = (await this.exec(proc, name, host.httpStatus(surl!, Number(stime)))).stdout.trim();
      if (smoke === '200') break;
    }
    if (smoke !== '200') {
      lines.push(`@smoke ${smoke}`);
      return exit(SWITCH_EXIT.smoke);
    }
    lines.push('@smoke 200');
    if ((await this.exec(proc, name, host.recordSwitch(cur!, curjson!, rel!, relline!))).code !== 0) return exit(SWITCH_EXIT.records);
    lines.push('@recorded');
    if (stopc && (await this.exec(proc, name, scheduleStop(stopc, cur!, Number(stopafter), lockdir!))).code === 0) lines.push('@stop-scheduled');
    return exit(0);
  }

  private unknownCommand(e: Error): Error {
    this.unknown.push(e);
    return e;
  }

  /** A deploy target for this fleet, connected through `proc`. */
  target(proc: SimProcess, deploy: DeploySettings = {}, extra: Partial<DeployTarget> = {}): DeployTarget {
    return {
      webHosts: this.hosts.map((h) => h.name),
      roles: [],
      roleOrder: ['web'],
      envName: 'production',
      root: '/nonexistent',
      app: APP,
      imageRepo: IMAGE_REPO,
      registry: REGISTRY,
      appPort: this.world.appPort,
      healthPath: this.world.healthPath,
      hosts: this.hosts.map((h, i) => ({ name: h.name, address: `10.0.0.${i + 1}`, port: 22, user: 'root' })),
      auth: { connectTimeoutMs: 1000, commandTimeoutMs: 1000, transport: proc.transport },
      settings: Deploy.parse({
        registry: REGISTRY, proxyImage: PROXY_IMAGE, proxyPort: this.world.proxyPort, dir: '/var/lib/pier',
        bakeSeconds: 0, drainSeconds: 0, healthTimeoutSeconds: 1, keepReleases: 3,
        canary: { steps: [25, 100], pauseSeconds: 0 },
        blueGreen: { windowSeconds: 60 },
        ...deploy,
      }),
      parallel: 4,
      envFileContent: 'DATABASE_URL=postgres://api:secret@db/api\n',
      envIssues: [],
      by: 'ops@sim',
      ...extra,
    };
  }
}

function lost(name: string): EnvironmentError {
  return new EnvironmentError(`${name}: SSH connection lost (simulated: host unreachable)`);
}

/** One pier process: its own sessions, its command count, its fault. */
export class SimProcess {
  count = 0;
  dead = false;
  faultHost?: string;
  readonly log: { host: string; argv: string[] }[] = [];
  private onBlocked!: () => void;
  /** Resolves when the dead process attempts anything (it is stuck for good). */
  readonly blocked: Promise<void>;

  constructor(
    readonly fleet: SimFleet,
    readonly fault?: Fault,
  ) {
    this.blocked = new Promise((r) => (this.onBlocked = r));
  }

  hang<T>(): Promise<T> {
    this.onBlocked();
    return new Promise<T>(() => undefined);
  }

  readonly transport: Transport = async (target) => {
    if (this.dead) return this.hang();
    if (this.fleet.unreachable.has(target.name)) throw new EnvironmentError(`${target.name} (${target.address}:${target.port}): SSH connect failed: simulated: host unreachable`);
    const conn: RemoteConnection = { exec: (argv, opts) => this.fleet.exec(this, target.name, argv, opts), close: () => undefined };
    return conn;
  };

  /**
   * Run `fn` (a pier verb) in this process: its result, or `killed` when the process died
   * (SIGKILL at the fault) and is stuck on a command that will never return.
   */
  async run<T>(fn: () => Promise<T>): Promise<{ killed: true } | { killed: false; value?: T; error?: Error }> {
    const done = fn().then(
      (value) => ({ killed: false as const, value }),
      (error: Error) => ({ killed: false as const, error }),
    );
    const stuck = this.blocked.then(() => ({ killed: true as const }));
    return Promise.race([done, stuck]);
  }
}
