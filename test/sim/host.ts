/**
 * A simulated pier host, in memory: carries out the argv that src/deploy/commands/* build (docker
 * run/rm/stop/start/inspect/ps/pull/exec, curl, mkdir/rm and the known `sh -c` scripts) against
 * plain data (containers, images, files, the proxy's loaded upstreams). Anything it does not know
 * throws `UnknownCommandError`: a new or changed command must be taught here, never guessed.
 *
 * The host also keeps the truth the invariants are checked against: which containers passed a
 * health check since they last started, what the proxy really serves (the config nginx loaded,
 * not the file on disk) and the lineage of releases it served.
 */
import { proxyCommand } from '../../src/deploy/commands/log-rotate.ts';
import { NGINX_TEST_AND_RELOAD } from '../../src/deploy/commands/docker.ts';
import type { RemoteResult } from '../../src/deploy/ssh.ts';
import { scriptName } from './scripts.ts';

export type HealthMode = 'healthy' | 'never' | 'dies';

export interface SimContainer {
  name: string;
  image: string;
  labels: Record<string, string>;
  running: boolean;
  ip?: string;
  /** Creation order on the fleet's clock (docker ps CreatedAt). */
  created: number;
  restart?: string;
  envFile?: string;
  /** The env file's content when the container was created (docker reads it then). */
  env?: string;
  health: HealthMode;
  /** Answered 200 to a health request since it last started. */
  checked: boolean;
  /** Health probes answered since start ('dies' answers one, then exits). */
  answered: number;
  /** Exited on its own (the app died), not stopped by pier. */
  crashed: boolean;
  /** Proxy only: directory mounted as /etc/nginx/conf.d. */
  confDir?: string;
  /** `--publish` values as given (`[ip:]hostPort:containerPort`). */
  publish?: string[];
  /** Role containers: the argv after the image, the stop signal and timeout it was created with. */
  command?: string[];
  stopSignal?: string;
  stopTimeout?: string;
  /** The `--time` of the last `docker stop` (the drain it was given before a kill). */
  stoppedWithin?: number;
  /** `--log-driver` then each `--log-opt` it was created with. */
  logging?: string[];
}

export interface LoadedUpstream {
  /** `<container name>:<port>`, resolved per request through Docker's DNS. */
  address: string;
  /** Share of requests (`split_clients`, e.g. `90%`); the last entry takes the rest. */
  share?: string;
}

export interface HostState {
  name: string;
  files: Record<string, string>;
  dirs: string[];
  containers: Record<string, SimContainer>;
  images: string[];
  networks: string[];
  /** What nginx serves: the config it loaded at start or the last successful reload. */
  proxyLoaded?: LoadedUpstream[];
  /** Host-side timers (blue/green retire) waiting for time to pass. */
  scheduled: { seconds: number; container: string; file: string; lockDir: string }[];
  /** The releases this host served, as a stack (a switch back pops, a new release pushes). */
  lineage: { release: string; container: string }[];
  /** The proxy served at least once: from then on it must always serve. */
  everServed: boolean;
  nextIp: number;
  /** Inode numbers of files (given on first look; a rename keeps it, a rewrite gets a new one). */
  inodes?: Record<string, number>;
  nextInode?: number;
  /** What `df` says (default: plenty); a test sets it to put a host below the disk floor. */
  disk?: { freeKb: number; totalKb: number; freeInodes: number; totalInodes: number };
  /** Image references `docker rmi` removed (the prune invariant checks none a container needs). */
  removedImages?: string[];
}

const DEFAULT_DISK = { freeKb: 50_000_000, totalKb: 100_000_000, freeInodes: 5_000_000, totalInodes: 6_000_000 };
/** Every simulated image's size (bytes). */
export const SIM_IMAGE_BYTES = 100_000_000;

export interface SimWorld {
  app: string;
  appPort: number;
  proxyPort: number;
  healthPath: string;
  /** Health behaviour of each release (default healthy). */
  health: Record<string, HealthMode>;
  /** Registry: tag reference -> digest reference (repo@sha256:...). */
  registry: Record<string, string>;
  /** The fleet's clock (one tick per command). */
  now(): number;
}

/** A command the simulator was not taught: a bug in the harness or a changed builder. */
export class UnknownCommandError extends Error {
  constructor(host: string, argv: readonly string[], why = 'unknown command') {
    super(`simulated host ${host}: ${why}: ${JSON.stringify(argv)}`);
  }
}

export function newHostState(name: string, preloadedImages: string[]): HostState {
  return { name, files: {}, dirs: ['/'], containers: {}, images: [...preloadedImages], networks: ['bridge'], scheduled: [], lineage: [], everServed: false, nextIp: 2 };
}

const ok = (stdout = ''): RemoteResult => ({ code: 0, stdout, stderr: '' });
const fail = (code: number, stderr: string, stdout = ''): RemoteResult => ({ code, stdout, stderr });
const dirname = (p: string) => p.replace(/\/[^/]*$/, '') || '/';

const PROXY = 'pier-proxy';

/** A file's inode number, given on first look. */
export function inodeOf(s: HostState, p: string): number {
  s.inodes ??= {};
  s.nextInode ??= 1000;
  return (s.inodes[p] ??= s.nextInode++);
}

/**
 * What the proxy's rotation loop does to a log (src/deploy/commands/log-rotate.ts): `.n-1` -> `.n`
 * (the oldest kept one replaced), the live file -> `.1` (inodes move with the names). nginx's
 * reopen then creates the live file afresh: pass `reopen` false to stop between the two.
 */
export function rotateLog(s: HostState, file: string, maxFiles: number, reopen = true): void {
  const move = (from: string, to: string) => {
    if (s.files[from] === undefined) return;
    inodeOf(s, from);
    s.files[to] = s.files[from]!;
    s.inodes![to] = s.inodes![from]!;
    delete s.files[from];
    delete s.inodes![from];
  };
  for (let n = maxFiles - 1; n > 1; n--) move(`${file}.${n - 1}`, `${file}.${n}`);
  move(file, `${file}.1`);
  if (reopen) s.files[file] = '';
}

/** The read script of src/deploy/commands/host.ts readLogSince, over the simulated files. */
function readLogSince(s: HostState, file: string, cursor: string[]): string {
  const known = cursor.map((k) => ({ ino: k.slice(0, k.indexOf(':')), offset: Number(k.slice(k.indexOf(':') + 1)) }));
  const paths = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((n) => (n ? `${file}.${n}` : file)).filter((p) => s.files[p] !== undefined);
  const any = paths.some((p) => known.some((k) => k.ino === String(inodeOf(s, p))));
  let last = 0;
  let fresh = false;
  let out = '';
  for (const p of paths) {
    const ino = String(inodeOf(s, p));
    const bytes = Buffer.from(s.files[p]!);
    const kj = known.map((k) => k.ino).lastIndexOf(ino) + 1;
    let start: number;
    if (fresh) start = 0;
    else if (kj > last && known[kj - 1]!.offset <= bytes.length) {
      start = known[kj - 1]!.offset;
      last = kj;
    } else if (last > 0 || !any || kj > 0) {
      start = 0;
      fresh = true;
    } else continue;
    out += `@pier-log ${ino} ${start} ${bytes.length}\n${bytes.subarray(start).toString()}\n`;
  }
  return out;
}
const IP_FORMAT = /^\{\{\(index \.NetworkSettings\.Networks "([^"]+)"\)\.IPAddress\}\}$/;

/**
 * Parse the proxy config nginx would load (its per-request targets: `split_clients` entries, each
 * `"<container>:<port>"` with its share); undefined when nginx would reject it.
 */
export function parseProxyConf(text: string | undefined): LoadedUpstream[] | undefined {
  if (!text) return undefined;
  const block = /split_clients "\$\{request_id\}" \$pier_upstream \{\n([\s\S]*?)\n\}/.exec(text)?.[1];
  if (!block || !text.includes('resolver 127.0.0.11 ') || !text.includes('proxy_pass http://$pier_upstream;')) return undefined;
  const entries = [...block.matchAll(/^ {4}(\*|\d+(?:\.\d+)?%) "([^"]+)";$/gm)];
  if (entries.length !== block.split('\n').length || entries.at(-1)?.[1] !== '*') return undefined;
  return entries.map((m) => ({ address: m[2]!, ...(m[1] !== '*' ? { share: m[1]! } : {}) }));
}

/** docker ps CreatedAt format for a clock tick (sorts like time). */
function createdAt(tick: number): string {
  const d = new Date(Date.UTC(2026, 11, 1, 0, 0, 0) + tick * 1000);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

export class SimHost {
  constructor(
    readonly s: HostState,
    private readonly w: SimWorld,
  ) {}

  get name(): string {
    return this.s.name;
  }

  private hasDir(p: string): boolean {
    return this.s.dirs.includes(p);
  }

  private mkdirP(p: string): void {
    const parts = p.split('/').filter(Boolean);
    let cur = '';
    for (const part of parts) {
      cur += `/${part}`;
      if (!this.hasDir(cur)) this.s.dirs.push(cur);
    }
  }

  private rmRf(p: string): void {
    this.s.dirs = this.s.dirs.filter((d) => d !== p && !d.startsWith(`${p}/`));
    for (const f of Object.keys(this.s.files)) if (f === p || f.startsWith(`${p}/`)) delete this.s.files[f];
  }

  /** Write a file; its directory must exist (as the shell's `>` requires). */
  private write(p: string, content: string): RemoteResult | undefined {
    if (!this.hasDir(dirname(p))) return fail(1, `sh: ${p}: No such file or directory`);
    this.s.files[p] = content;
    delete this.s.inodes?.[p]; // written to a temp file and renamed over: a new inode
    return undefined;
  }

  private byIp(ip: string): SimContainer | undefined {
    return Object.values(this.s.containers).find((c) => c.ip === ip);
  }

  /** Carry out one command. Throws UnknownCommandError for anything not taught. */
  exec(argv: readonly string[], input?: string): RemoteResult {
    const [cmd, ...rest] = argv;
    switch (cmd) {
      case 'docker':
        return this.docker(argv, rest);
      case 'curl':
        return this.curl(argv);
      case 'mkdir':
        if (rest[0] !== '-p') throw new UnknownCommandError(this.name, argv);
        for (const d of rest.slice(1)) this.mkdirP(d);
        return ok();
      case 'rm':
        if (rest[0] === '-rf' && rest.length === 2) this.rmRf(rest[1]!);
        else if (rest[0] === '-f' && rest.length === 2) delete this.s.files[rest[1]!];
        else throw new UnknownCommandError(this.name, argv);
        return ok();
      case 'sh':
        if (argv[1] !== '-c' || argv[3] !== 'sh') throw new UnknownCommandError(this.name, argv);
        return this.script(argv, argv[2]!, argv.slice(4), input);
      default:
        throw new UnknownCommandError(this.name, argv);
    }
  }

  private script(argv: readonly string[], text: string, a: string[], input?: string): RemoteResult {
    const name = scriptName(text);
    switch (name) {
      case 'acquireLock': {
        this.mkdirP(dirname(a[0]!));
        if (this.hasDir(a[0]!)) return fail(75, '', this.s.files[`${a[0]}/info.json`] ?? '');
        this.s.dirs.push(a[0]!);
        this.s.files[`${a[0]}/info.json`] = `${a[1]}\n`;
        return ok();
      }
      case 'releaseLock': {
        if (!this.hasDir(a[0]!)) return ok();
        const info = this.s.files[`${a[0]}/info.json`] ?? '';
        if (!info.includes(`"run":"${a[1]}"`)) return fail(1, '');
        this.rmRf(a[0]!);
        return ok();
      }
      case 'removeAndReleaseLock': {
        // Only while this run holds the lock or nobody does: the file first, then the lock.
        if (this.hasDir(a[0]!) && !(this.s.files[`${a[0]}/info.json`] ?? '').includes(`"run":"${a[1]}"`)) return fail(1, '');
        delete this.s.files[a[2]!];
        this.rmRf(a[0]!);
        return ok();
      }
      case 'readLock':
        return ok(this.s.files[`${a[0]}/info.json`] ?? '');
      case 'appendLine': {
        this.mkdirP(dirname(a[0]!));
        this.s.files[a[0]!] = (this.s.files[a[0]!] ?? '') + `${a[1]}\n`;
        return ok();
      }
      case 'writeFile': {
        if (input === undefined) throw new UnknownCommandError(this.name, argv, 'writeFile without input');
        this.mkdirP(dirname(a[0]!));
        return this.write(a[0]!, input) ?? ok();
      }
      case 'writeEnvFile': {
        if (input === undefined) throw new UnknownCommandError(this.name, argv, 'writeEnvFile without input');
        this.mkdirP(dirname(a[0]!));
        const failed = this.write(a[0]!, input);
        if (failed) return failed;
        // Every other *.env beside it goes (per-release files of older pier versions).
        for (const f of Object.keys(this.s.files)) if (f !== a[0] && dirname(f) === dirname(a[0]!) && f.endsWith('.env')) delete this.s.files[f];
        return ok();
      }
      case 'readFile':
        return ok(this.s.files[a[0]!] ?? '');
      case 'tailFile':
        return ok((this.s.files[a[0]!] ?? '').split('\n').filter(Boolean).slice(-Number(a[1])).map((l) => `${l}\n`).join(''));
      case 'logMark': {
        const p = [a[0]!, `${a[0]}.1`].find((f) => this.s.files[f] !== undefined);
        return ok(p ? `${inodeOf(this.s, p)} ${Buffer.byteLength(this.s.files[p]!)}\n` : '');
      }
      case 'readLogSince':
        return ok(readLogSince(this.s, a[0]!, a.slice(1)));
      case 'diskUsage': {
        // pier's dir (its nearest existing parent) and Docker's data root, on different filesystems.
        const d = this.s.disk ?? DEFAULT_DISK;
        let dir = a[0]!;
        while (!this.hasDir(dir)) dir = dirname(dir);
        return ok(`${dir} ${d.freeKb} ${d.totalKb} ${d.freeInodes} ${d.totalInodes} /\n/var/lib/docker ${d.freeKb + 1024} ${d.totalKb} ${d.freeInodes} ${d.totalInodes} /var/lib/docker\n`);
      }
      case 'pruneImages':
        return this.pruneImages(a);
      case 'healthProbe': {
        // The container's state and address (docker inspect), then curl's status when it runs
        // with an address ('000' otherwise); the running state on the second line, nothing if gone.
        const [name, network, port, path, timeout] = a;
        const x = this.s.containers[name!];
        if (!x) return ok('000\n\n');
        if (network !== 'pier') throw new UnknownCommandError(this.name, argv, `health probe on network ${network}`);
        const status = x.running && x.ip ? this.curl(['curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', timeout!, `http://${x.ip}:${port}${path}`]).stdout : '000';
        return ok(`${status}\n${x.running}\n`);
      }
      case 'writeProxyConf': {
        // The config write, then the reload in the proxy container (as the script does, `&&`).
        if (input === undefined) throw new UnknownCommandError(this.name, argv, 'writeProxyConf without input');
        this.mkdirP(dirname(a[0]!));
        const failed = this.write(a[0]!, input);
        if (failed) return failed;
        return this.exec(['docker', 'exec', a[1]!, 'sh', '-c', NGINX_TEST_AND_RELOAD]);
      }
      case 'recordSwitch': {
        this.mkdirP(dirname(a[0]!));
        this.mkdirP(dirname(a[2]!));
        const failed = this.write(a[0]!, `${a[1]}\n`);
        if (failed) return failed;
        this.s.files[a[2]!] = (this.s.files[a[2]!] ?? '') + `${a[3]}\n`;
        return ok();
      }
      case 'scheduleStop':
        this.s.scheduled.push({ seconds: Number(a[0]), container: a[1]!, file: a[2]!, lockDir: a[3]! });
        return ok();
      default:
        throw new UnknownCommandError(this.name, argv, 'unknown sh -c script (changed builder? see test/sim/scripts.ts)');
    }
  }

  /**
   * Time passes on the host: every scheduled timer fires (the retire script), except while the
   * host's deploy lock is held: the script waits for it (bounded; a lock left by a dead process is
   * released by the operator's recovery, after which the next `elapse` fires the timer).
   */
  elapse(): void {
    const due = this.s.scheduled.filter((t) => !this.hasDir(t.lockDir));
    this.s.scheduled = this.s.scheduled.filter((t) => this.hasDir(t.lockDir));
    for (const t of due) {
      if ((this.s.files[t.file] ?? '').includes(`"container":"${t.container}"`)) continue;
      this.docker(['docker', 'stop', '--time', '10', t.container], ['stop', '--time', '10', t.container]);
    }
  }

  /**
   * The host reboots: containers with a restart policy that were running come back (health
   * unchecked) with new addresses, handed out afresh as Docker does; the others stay stopped.
   */
  reboot(): void {
    this.s.nextIp = 2;
    const all = Object.values(this.s.containers);
    for (const c of all) c.ip = undefined;
    for (const c of all) {
      const back = c.running && (c.restart === 'unless-stopped' || c.restart === 'always');
      c.running = back;
      c.checked = false;
      c.answered = 0;
      if (back) c.ip = this.nextIp();
      if (c.name === PROXY && back) this.s.proxyLoaded = parseProxyConf(this.s.files[`${c.confDir}/pier.conf`]);
    }
  }

  private nextIp(): string {
    const n = this.s.nextIp++;
    return `172.18.${Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  private docker(argv: readonly string[], r: string[]): RemoteResult {
    const [sub, ...a] = r;
    const c = (n: string | undefined) => (n ? this.s.containers[n] : undefined);
    const noSuch = (n: string) => fail(1, `Error: No such container: ${n}`);
    switch (sub) {
      case 'info':
        if (a.join(' ') !== '--format {{.ServerVersion}}') throw new UnknownCommandError(this.name, argv);
        return ok('20.10.24\n');
      case 'version':
        if (a.join(' ') !== '--format {{.Server.Version}}') throw new UnknownCommandError(this.name, argv);
        return ok('20.10.24\n');
      case 'system':
        if (a.join(' ') !== 'df --format {{.Type}}\t{{.Size}}\t{{.Reclaimable}}') throw new UnknownCommandError(this.name, argv);
        return ok(`Images\t${(this.s.images.length * SIM_IMAGE_BYTES) / 1e9}GB\t0B (0%)\nContainers\t1MB\t0B (0%)\nLocal Volumes\t0B\t0B\nBuild Cache\t0B\t0B\n`);
      case 'pull': {
        // `--quiet REF` prints the ref; plain `REF` prints docker's report with its Digest line.
        const quiet = a[0] === '--quiet' && a.length === 2;
        if (!quiet && (a.length !== 1 || a[0]!.startsWith('-'))) throw new UnknownCommandError(this.name, argv);
        const ref = a.at(-1)!;
        const digest = this.w.registry[ref] ?? (Object.values(this.w.registry).includes(ref) ? ref : undefined);
        if (!digest) return fail(1, `Error response from daemon: manifest for ${ref} not found`);
        for (const x of [ref, digest]) if (!this.s.images.includes(x)) this.s.images.push(x);
        return ok(quiet ? `${ref}\n` : `Digest: ${digest.split('@')[1]}\nStatus: Image is up to date for ${ref}\n${ref}\n`);
      }
      case 'image': {
        if (a[0] !== 'inspect' || a[1] !== '--format' || a.length !== 4) throw new UnknownCommandError(this.name, argv);
        const ref = a[3]!;
        if (!this.s.images.includes(ref)) return fail(1, `Error: No such image: ${ref}`);
        if (a[2] === '{{.Id}}') return ok(`sha256:${imageHash(this.w.registry[ref] ?? ref)}\n`);
        if (a[2] === '{{index .RepoDigests 0}}') return ok(`${this.w.registry[ref] ?? ''}\n`);
        throw new UnknownCommandError(this.name, argv);
      }
      case 'network': {
        if (a[0] === 'inspect' && a[1] === '--format' && a[2] === '{{.Name}}' && a.length === 4) {
          return this.s.networks.includes(a[3]!) ? ok(`${a[3]}\n`) : fail(1, `Error: No such network: ${a[3]}`);
        }
        if (a[0] === 'create' && a[1] === '--label' && a.length === 4) {
          if (this.s.networks.includes(a[3]!)) return fail(1, `Error response from daemon: network with name ${a[3]} already exists`);
          this.s.networks.push(a[3]!);
          return ok('netid\n');
        }
        throw new UnknownCommandError(this.name, argv);
      }
      case 'run':
        return this.run(argv, a);
      case 'port': {
        // `docker port C PORT/tcp`: the host binding of a published port (proxy.tls checks 443).
        const m = a.length === 2 ? /^(\d+)\/tcp$/.exec(a[1]!) : null;
        if (!m) throw new UnknownCommandError(this.name, argv);
        const x = c(a[0]);
        if (!x) return noSuch(a[0]!);
        const p = x.publish?.map((v) => v.split(':')).find((f) => f.at(-1) === m[1]);
        return p ? ok(`${p.length === 3 ? p[0] : '0.0.0.0'}:${p.at(-2)}\n`) : fail(1, `Error: No public port '${a[1]}' published for ${x.name}`);
      }
      case 'inspect': {
        if (a[0] !== '--format' || a.length !== 3) throw new UnknownCommandError(this.name, argv);
        const x = c(a[2]);
        if (!x) return fail(1, `Error: No such object: ${a[2]}`);
        if (a[1] === '{{.State.Running}}') return ok(`${x.running}\n`);
        if (a[1] === '{{.Image}}') return ok(`sha256:${imageHash(this.w.registry[x.image] ?? x.image)}\n`);
        throw new UnknownCommandError(this.name, argv);
      }
      case 'start': {
        if (a.length !== 1) throw new UnknownCommandError(this.name, argv);
        const x = c(a[0]);
        if (!x) return noSuch(a[0]!);
        if (!x.running) this.startContainer(x);
        return ok(`${x.name}\n`);
      }
      case 'stop': {
        if (a[0] !== '--time' || a.length !== 3) throw new UnknownCommandError(this.name, argv);
        const x = c(a[2]);
        if (!x) return noSuch(a[2]!);
        x.running = false;
        x.checked = false;
        x.stoppedWithin = Number(a[1]);
        return ok(`${x.name}\n`);
      }
      case 'rm': {
        // Several names: each that exists goes; any missing one makes the exit status 1 (as docker).
        if (a[0] !== '--force' || a.length < 2) throw new UnknownCommandError(this.name, argv);
        const names = a.slice(1);
        const missing = names.filter((n) => !c(n));
        for (const n of names) delete this.s.containers[n];
        if (missing.length) return fail(1, missing.map((n) => `Error: No such container: ${n}`).join('\n'), names.filter((n) => !missing.includes(n)).map((n) => `${n}\n`).join(''));
        return ok(names.map((n) => `${n}\n`).join(''));
      }
      case 'logs':
        if (a[0] !== '--tail' || a.length !== 3) throw new UnknownCommandError(this.name, argv);
        return c(a[2]) ? ok(`(simulated log of ${a[2]})\n`) : noSuch(a[2]!);
      case 'ps': {
        const fmt = a[a.length - 1]!;
        const filter = /^label=pier\.app=(.+)$/.exec(a[3] ?? '')?.[1];
        if (a.slice(0, 3).join(' ') !== '--all --no-trunc --filter' || a.length !== 6 || a[4] !== '--format' || !filter || !fmt.includes('{{.Names}}')) {
          throw new UnknownCommandError(this.name, argv);
        }
        const rows = Object.values(this.s.containers)
          .filter((x) => x.labels['pier.app'] === filter)
          .sort((p, q) => q.created - p.created)
          .map((x) =>
            fmt
              .replace('{{.Names}}', x.name)
              .replace('{{.State}}', x.running ? 'running' : 'exited')
              .replace('{{.Image}}', x.image)
              .replace('{{.Label "pier.release"}}', x.labels['pier.release'] ?? '')
              .replace('{{.Label "pier.role"}}', x.labels['pier.role'] ?? '')
              .replace('{{.CreatedAt}}', createdAt(x.created)),
          );
        if (rows.some((row) => row.includes('{{'))) throw new UnknownCommandError(this.name, argv, 'unknown docker ps format field');
        return ok(rows.map((row) => `${row}\n`).join(''));
      }
      case 'exec': {
        if (a[0] === PROXY && a.slice(1).join(' ') === `sh -c ${NGINX_TEST_AND_RELOAD}`) {
          const p = c(PROXY);
          if (!p) return noSuch(PROXY);
          if (!p.running) return fail(1, `Error response from daemon: Container ${PROXY} is not running`);
          const conf = parseProxyConf(this.s.files[`${p.confDir}/pier.conf`]);
          if (!conf) return fail(1, 'nginx: [emerg] invalid configuration');
          this.s.proxyLoaded = conf;
          return ok();
        }
        // A role's health check by command: answered by the role release's health mode.
        const x = c(a[0]);
        if (a[0] !== PROXY && x?.labels['pier.role'] && a.length > 1) {
          if (!x.running) return fail(1, `Error response from daemon: Container ${x.name} is not running`);
          if (x.health === 'never') return fail(1, 'not ready');
          if (x.health === 'dies' && x.answered >= 1) {
            x.running = false;
            x.crashed = true;
            return fail(1, `Error response from daemon: Container ${x.name} is not running`);
          }
          x.answered++;
          x.checked = true;
          return ok();
        }
        if (!x && a[0] !== PROXY) return noSuch(a[0]!);
        throw new UnknownCommandError(this.name, argv);
      }
      default:
        throw new UnknownCommandError(this.name, argv);
    }
  }

  private startContainer(x: SimContainer): void {
    x.running = true;
    x.checked = false;
    x.answered = 0;
    x.crashed = false;
    if (x.name === PROXY) this.s.proxyLoaded = parseProxyConf(this.s.files[`${x.confDir}/pier.conf`]);
  }

  private run(argv: readonly string[], a: string[]): RemoteResult {
    const flags: Record<string, string[]> = {};
    const bools = new Set<string>();
    let i = 0;
    for (; i < a.length && a[i]!.startsWith('--'); i++) {
      const f = a[i]!;
      if (f === '--detach' || f === '--rm' || f === '--no-healthcheck') bools.add(f);
      else if (['--name', '--network', '--restart', '--label', '--env-file', '--env', '--publish', '--volume', '--stop-signal', '--stop-timeout', '--log-driver', '--log-opt'].includes(f)) (flags[f] ??= []).push(a[++i]!);
      else throw new UnknownCommandError(this.name, argv, `unknown docker run flag ${f}`);
    }
    const image = a[i];
    if (!image) throw new UnknownCommandError(this.name, argv, 'docker run without image');
    const name = flags['--name']?.[0];
    if (!name) throw new UnknownCommandError(this.name, argv, 'docker run without --name');
    if (this.s.containers[name]) return fail(125, `docker: Error response from daemon: Conflict. The container name "/${name}" is already in use.`);
    const envFile = flags['--env-file']?.[0];
    if (envFile && this.s.files[envFile] === undefined) return fail(125, `docker: open ${envFile}: no such file or directory.`);
    if (!this.s.images.includes(image)) {
      const pulled = this.docker(['docker', 'pull', '--quiet', image], ['pull', '--quiet', image]);
      if (pulled.code !== 0) return fail(125, pulled.stderr);
    }
    const net = flags['--network']?.[0];
    if (net && !this.s.networks.includes(net)) return fail(125, `docker: Error response from daemon: network ${net} not found.`);
    const labels = Object.fromEntries((flags['--label'] ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (bools.has('--rm')) return ok('(simulated one-off)\n'); // a release step (migration): runs and is gone
    if (!bools.has('--detach')) throw new UnknownCommandError(this.name, argv, 'foreground docker run');
    const isProxy = name === PROXY;
    const role = labels['pier.role'];
    const command = a.slice(i + 1);
    if (isProxy && command.length && JSON.stringify(command) !== JSON.stringify(proxyCommand())) throw new UnknownCommandError(this.name, argv, 'the proxy with another command than nginx and its log rotation loop');
    if (command.length && !role && !isProxy) throw new UnknownCommandError(this.name, argv, 'a command after the image of a web release');
    const conf = (flags['--volume'] ?? []).find((v) => v.endsWith(':/etc/nginx/conf.d:ro'));
    const x: SimContainer = {
      name, image, labels, running: false, created: this.w.now(), restart: flags['--restart']?.[0], envFile, env: envFile ? this.s.files[envFile] : undefined,
      health: isProxy ? 'healthy' : role ? (this.w.health[`${role}:${labels['pier.release'] ?? ''}`] ?? 'healthy') : (this.w.health[labels['pier.release'] ?? ''] ?? 'healthy'),
      ...(role ? { command, stopSignal: flags['--stop-signal']?.[0], stopTimeout: flags['--stop-timeout']?.[0] } : {}),
      checked: false, answered: 0, crashed: false, confDir: conf?.slice(0, conf.indexOf(':')),
      ...(flags['--publish'] ? { publish: flags['--publish'] } : {}),
      ...(flags['--log-driver'] ? { logging: [flags['--log-driver'][0]!, ...(flags['--log-opt'] ?? [])] } : {}),
      ip: this.nextIp(),
    };
    this.s.containers[name] = x;
    this.startContainer(x);
    return ok(`${name}-id\n`);
  }

  /** The image ID of a reference (tag and digest references of one pull share it). */
  imageIdOf(ref: string): string {
    return `sha256:${imageHash(this.w.registry[ref] ?? ref)}`;
  }

  /**
   * The image prune script (commands/images.ts): references of the given repositories whose image
   * no container (but those counted as gone) uses and that no protected reference names; listed,
   * or removed as `docker rmi` would (an image goes once no reference to it is left).
   */
  private pruneImages(a: string[]): RemoteResult {
    const [mode, n, k] = [a[0]!, Number(a[1]), Number(a[2])];
    const repos = new Set(a.slice(3, 3 + n));
    const gone = new Set(a.slice(3 + n, 3 + n + k));
    const protect = a.slice(3 + n + k);
    const used = new Set([
      ...Object.values(this.s.containers).filter((x) => !gone.has(x.name)).map((x) => this.imageIdOf(x.image)),
      ...protect.filter((r) => this.s.images.includes(r)).map((r) => this.imageIdOf(r)),
    ]);
    const repoOf = (ref: string) => ref.replace(/@sha256:[0-9a-z]+$/, '').replace(/:[^:/]+$/, '');
    const refs = this.s.images.filter((r) => repos.has(repoOf(r)) && !used.has(this.imageIdOf(r))).sort();
    let out = refs.map((r) => `candidate ${this.imageIdOf(r)} ${r} ${SIM_IMAGE_BYTES}\n`).join('');
    if (mode !== 'remove' || !refs.length) return ok(out);
    for (const r of refs) {
      this.s.images = this.s.images.filter((x) => x !== r);
      (this.s.removedImages ??= []).push(r);
      out += `Untagged: ${r}\n`;
      const id = this.imageIdOf(r);
      if (!this.s.images.some((x) => this.imageIdOf(x) === id) && !out.includes(`Deleted: ${id}\n`)) out += `Deleted: ${id}\n`;
    }
    return ok(out);
  }

  private curl(argv: readonly string[]): RemoteResult {
    // https (proxy.tls) only with --insecure, to the proxy's published HTTPS port.
    const tls = argv[2] === '--insecure';
    const a = tls ? [...argv.slice(0, 2), ...argv.slice(3)] : argv;
    const expect = ['curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time'];
    if (a.length !== 9 || expect.some((w, i) => a[i] !== w)) throw new UnknownCommandError(this.name, argv);
    const m = (tls ? /^https:\/\/(127\.0\.0\.1):(\d+)(\/.*)$/ : /^http:\/\/([\d.]+):(\d+)(\/.*)$/).exec(a[8]!);
    if (!m) throw new UnknownCommandError(this.name, argv, 'unexpected URL');
    const [, ip, port, path] = m;
    const refused = fail(7, '', '000');
    if (ip === '127.0.0.1') {
      const p = this.s.containers[PROXY];
      // nginx serves HTTPS only with its certificate and key in conf.d/tls/.
      const https = p?.publish?.some((v) => v.endsWith(`${port}:443`)) && ['cert', 'key'].every((f) => this.s.files[`${p.confDir}/tls/${f}.pem`] !== undefined);
      if (tls ? !https : Number(port) !== this.w.proxyPort) return refused;
      if (!p?.running || !this.s.proxyLoaded) return refused;
      // Each request goes to one target picked by share, with no retry on another: the proxy
      // answers 200 only when every target it may pick answers (a name that does not resolve,
      // i.e. a container that is not running, or a refused connection is a 502).
      const answers = this.s.proxyLoaded.map((u) => this.answer(this.containerAt(u.address), u.address, path!));
      return ok(answers.find((s) => s !== '200') === undefined ? '200' : answers.find((s) => s !== '000' && s !== '200') ?? '502');
    }
    const s = this.answer(this.byIp(ip!), `${ip}:${port}`, path!);
    return s === '000' ? refused : ok(s);
  }

  /** An app container's answer at `address` (`x` is the container there) for `path`, '000' when nothing listens. */
  private answer(x: SimContainer | undefined, address: string, path: string): string {
    const port = address.split(':').at(-1);
    if (!x || !x.running || x.name === PROXY || Number(port) !== this.w.appPort) return '000';
    if (path !== this.w.healthPath) return '200';
    if (x.health === 'never') return '503';
    if (x.health === 'dies' && x.answered >= 1) {
      x.running = false;
      x.crashed = true;
      return '000';
    }
    x.answered++;
    x.checked = true;
    return '200';
  }

  /** The container an upstream (`<name>:<port>`) names: what Docker's DNS resolves it to. */
  containerAt(address: string): SimContainer | undefined {
    const name = address.slice(0, address.lastIndexOf(':'));
    return name === PROXY ? undefined : this.s.containers[name];
  }

  /**
   * Invariant (a) at this moment: the proxy serves (once it ever did), every upstream it loaded is
   * a running app container that passed its health check. Returns the problems.
   */
  servingProblems(): string[] {
    const p = this.s.containers[PROXY];
    if (!p?.running || !this.s.proxyLoaded) return this.s.everServed ? [`proxy not serving (${p ? 'stopped' : 'removed'})`] : [];
    const problems: string[] = [];
    for (const u of this.s.proxyLoaded) {
      const x = this.containerAt(u.address);
      if (!x) problems.push(`upstream ${u.address}: no such container`);
      else if (x.crashed) continue; // the app died by itself: not pier's doing (checked at the end of a run)
      else if (!x.running) problems.push(`upstream ${u.address}: ${x.name} is not running`);
      else if (!x.checked) problems.push(`upstream ${u.address}: ${x.name} has not passed a health check`);
      else if (x.health === 'never') problems.push(`upstream ${u.address}: ${x.name} is unhealthy`);
    }
    return problems;
  }

  /** After a command: note what the proxy serves (the lineage of single-release states). */
  observe(): void {
    const p = this.s.containers[PROXY];
    if (!p?.running || !this.s.proxyLoaded) return;
    this.s.everServed = true;
    const xs = this.s.proxyLoaded.map((u) => this.containerAt(u.address));
    if (xs.length !== 1 || !xs[0]) return;
    const release = xs[0].labels['pier.release'] ?? '?';
    const l = this.s.lineage;
    const at = l.findIndex((e) => e.release === release);
    if (at < 0) l.push({ release, container: xs[0].name });
    else {
      // Back to a release it served before (a switch back): what came after it is popped.
      l.length = at + 1;
      l[at] = { release, container: xs[0].name };
    }
  }

  /** Releases the proxy serves right now (by container label), [] when not serving. */
  serving(): { release: string; container: string }[] {
    const p = this.s.containers[PROXY];
    if (!p?.running || !this.s.proxyLoaded) return [];
    return this.s.proxyLoaded.map((u) => {
      const x = this.containerAt(u.address);
      return { release: x?.labels['pier.release'] ?? '?', container: x?.name ?? `?${u.address}` };
    });
  }
}

function imageHash(ref: string): string {
  let h = 2166136261;
  for (const ch of ref) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(8);
}
