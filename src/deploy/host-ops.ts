/**
 * Operations on one host, each a short sequence of commands/* run through the executor: get the
 * image, start a release beside the serving one, health-check it, switch the proxy, read the
 * access log, stop and prune old releases, read and write pier's records, take the lock.
 * The only module that talks to a host session: everything else in src/deploy/ calls these.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { EnvironmentError, GateError } from '../util/errors.ts';
import { notYet, poll, PollError, realClock, type Clock } from '../util/poll.ts';
import { errorStats, parseAccessLog, type AccessEntry, type ErrorStats } from './access-log.ts';
import * as accessory from './commands/accessory.ts';
import * as docker from './commands/docker.ts';
import * as host from './commands/host.ts';
import * as images from './commands/images.ts';
import { appRepositories, parsePruneOutput, type PrunedImage } from './commands/images.ts';
import { parseDiskUsage, parseSystemDf, type DiskFacts, type DockerUse } from './disk.ts';
import * as maintenance from './commands/maintenance.ts';
import * as monitoring from './commands/monitoring.ts';
import { HOST_NETWORK, hostLayout, PROXY_CONTAINER, releaseContainer, roleLayout, type HostLayout } from './commands/layout.ts';
import { renderProxyConf, upstreamOf, type Upstream } from './commands/nginx.ts';
import { DEFAULT_ROTATION, rotateConf, sizeBytes, type LogRotation } from './commands/log-rotate.ts';
import { afterRead, cursorArgs, parseMark, type LogCursor } from './log-cursor.ts';
import type { ProxyTls } from './commands/nginx-tls.ts';
import { RemoteCommandError, type HostSession } from './executor.ts';
import { parseSwitchOutput, switchStep, SWITCH_EXIT } from './commands/switch.ts';
import { scheduleStop } from './commands/retire.ts';
import { parseCurrent, parseLock, parseReleaseLog, parseReleases, type CurrentRelease, type LockInfo, type ReleaseRecord } from './records.ts';
import type { DeployTarget, RoleSpec } from './target.ts';

/** Health poll interval: short, since each poll is one cheap round trip and the switch waits on it. */
export const HEALTH_POLL_MS = 100;
/** The smoke test through the proxy: up to this many requests, 100 ms apart, each with this timeout (s). */
const SMOKE = { tries: 50, timeoutSeconds: 3 } as const;

/**
 * The clock of the deploy's waits: util/poll's one sleep (node:timers/promises) and Date.now, both
 * looked up at each call, so the simulator's virtual clock (test/sim/clock.ts) drives them.
 */
export const deployClock: Clock = realClock;

/** A release as it runs on a host. */
export interface Release {
  version: string;
  /** Image reference the container runs (a digest reference when pulled from a registry). */
  image: string;
  container: string;
}

/** A health check or smoke test said no. */
export class HealthError extends GateError {
  constructor(
    readonly host: string,
    message: string,
    readonly logs?: string,
  ) {
    super(`${host}: ${message}`);
  }
}

/** A record pier keeps on a host is unreadable: names the host and the file; exit 3. */
export class HostStateError extends EnvironmentError {
  constructor(host: string, file: string, problem: string) {
    super(`${host}: ${file}: ${problem}`, `inspect the file on ${host}; fix it by hand, or remove it (pier then treats the host as having no record)`);
  }
}

/** One container of the app on a host, as `docker ps` lists it. */
export interface ReleaseContainer {
  name: string;
  state: string;
  image: string;
  release: string;
  /** The role label ('' for web). */
  role: string;
  created: string;
}

/** Outcome of one attempt at a host's lock. */
export type LockAttempt = { taken: true } | { taken: false; holder: LockInfo };

/** A release started on a host (the health probe and the proxy reach it by container name). */
export type StartedRelease = Release;

/** What one health probe saw: the app answered 200, the container is not running, or neither yet. */
export type HealthLook = { state: 'healthy' } | { state: 'stopped'; status: string } | { state: 'waiting'; status: string };

export class HostOps {
  readonly layout: HostLayout;

  constructor(
    readonly h: HostSession,
    private readonly t: DeployTarget,
    private readonly runId: string,
  ) {
    this.layout = hostLayout(t.settings.dir, t.app);
  }

  get name(): string {
    return this.h.name;
  }

  /** A new start of `version` with image `image`: a container name no other start has used. */
  release(version: string, image: string): Release {
    return { version, image, container: releaseContainer(this.t.app, version, randomBytes(3).toString('hex')) };
  }

  /** A new start of `version` in role `role` (worker, scheduler): `<app>-<role>-<version>-<suffix>`. */
  roleRelease(role: string, version: string, image: string): Release {
    return { version, image, container: releaseContainer(this.t.app, version, randomBytes(3).toString('hex'), role) };
  }

  /** Docker's server version (preflight); throws when Docker does not answer. */
  async dockerVersion(): Promise<string> {
    return (await this.h.run(docker.dockerInfo(), { timeoutMs: 15_000 })).trim();
  }

  /** Free space and inodes under pier's directory and Docker's data root (one round trip). */
  async disk(): Promise<DiskFacts[]> {
    return parseDiskUsage(await this.h.run(host.diskUsage(this.t.settings.dir)));
  }

  /** What Docker's data uses (`docker system df`); undefined when it does not answer in 30 s. */
  async dockerUse(): Promise<DockerUse[] | undefined> {
    const r = await this.h.probe(docker.systemDf(), { timeoutMs: 30_000 }).catch(() => undefined);
    return r?.code === 0 ? parseSystemDf(r.stdout) : undefined;
  }

  /**
   * Images of the app's repositories no container on the host uses (any state), never the proxy's
   * or an accessory's: listed (`list`, with sizes) or removed, decided host-side in one command.
   */
  async pruneImages(mode: 'list' | 'remove', o: { protect?: readonly string[]; without?: readonly string[] } = {}): Promise<PrunedImage[]> {
    const spec = { repos: appRepositories(this.t.imageRepo, this.t.registry), protect: [this.t.settings.proxyImage, ...(o.protect ?? [])], without: o.without };
    return parsePruneOutput(await this.h.run(images.pruneImages(mode, spec)), mode);
  }

  /** proxy.logs as the rotation loop reads it (rotate.conf). */
  get logRotation(): LogRotation {
    const l = this.t.proxyLogs;
    return l ? { maxBytes: sizeBytes(l.maxSize), maxFiles: l.maxFiles, checkSeconds: l.checkSeconds } : DEFAULT_ROTATION;
  }

  async ensureBase(): Promise<void> {
    const l = this.layout;
    // The proxy's rotation settings go with the directories: the loop reads them at every round.
    const [, net] = await Promise.all([
      this.h.run(host.mkdirs(l.nginxDir, l.logDir, l.envDir)),
      this.h.probe(docker.networkExists()),
      this.h.run(host.writeFile(l.rotateConf, '0644'), { input: rotateConf(this.logRotation) }),
    ]);
    if (net.code !== 0) {
      const r = await this.h.probe(docker.networkCreate());
      if (r.code !== 0 && !/already exists/.test(r.stderr)) await this.h.run(docker.networkCreate());
    }
  }

  /** The records of web (no role) or of a role: current.json and releases.jsonl. */
  private files(role?: string): { currentFile: string; releasesLog: string } {
    return role ? roleLayout(this.layout, this.t.app, role) : this.layout;
  }

  /** current.json (of `role` when given); a corrupt file is a HostStateError naming host and file. */
  async readCurrent(role?: string): Promise<CurrentRelease | undefined> {
    const file = this.files(role).currentFile;
    const text = await this.h.run(host.readFile(file));
    try {
      return parseCurrent(text);
    } catch (e) {
      throw new HostStateError(this.name, file, (e as Error).message);
    }
  }

  /** The release history (of `role` when given), malformed lines skipped (listings). */
  async readReleases(role?: string): Promise<ReleaseRecord[]> {
    return parseReleases(await this.h.run(host.readFile(this.files(role).releasesLog)));
  }

  /** The proxy access log's last `lines` entries (the deploy timeline's traffic). */
  async readAccessLogTail(lines: number): Promise<AccessEntry[]> {
    return parseAccessLog(await this.h.run(host.tailFile(this.layout.accessLog, lines)));
  }

  /** The audit log's lines (pier stats). */
  async readAudit(): Promise<string[]> {
    return (await this.h.run(host.readFile(this.layout.auditLog))).split('\n').filter(Boolean);
  }

  /** The release history for decisions (rollback): a malformed line is a HostStateError naming it. */
  async readHistory(role?: string): Promise<ReleaseRecord[]> {
    const file = this.files(role).releasesLog;
    const { records, bad } = parseReleaseLog(await this.h.run(host.readFile(file)));
    if (bad.length) throw new HostStateError(this.name, `${file}:${bad[0]}`, `not a release record (JSON line)${bad.length > 1 ? `; also lines ${bad.slice(1).join(', ')}` : ''}`);
    return records;
  }

  /** Pull `ref` and return the digest reference it resolved to (repo@sha256:...). */
  async pull(ref: string): Promise<string> {
    const report = await this.h.run(docker.pullReport(ref));
    // The report's Digest line saves an inspect on the deploy's critical path; inspect only without one.
    const fromReport = docker.digestFromPull(ref, report);
    if (fromReport) return fromReport;
    const digest = (await this.h.run(docker.repoDigest(ref))).trim();
    return digest || ref;
  }

  /** Pull `ref` (already a digest reference) without resolving it. */
  async pullOnly(ref: string): Promise<void> {
    await this.h.run(docker.pull(ref));
  }

  /** `docker load` an image archive streamed from this machine. */
  async loadImage(archive: Readable): Promise<void> {
    await this.h.run(docker.load(), { input: archive, timeoutMs: this.t.auth.commandTimeoutMs });
  }

  /** Image ID of an image on the host (undefined when absent). */
  async imageId(ref: string): Promise<string | undefined> {
    const r = await this.h.probe(docker.imageId(ref));
    return r.code === 0 ? r.stdout.trim() || undefined : undefined;
  }

  /** Image ID a container runs (undefined when the container is gone). */
  async containerImageId(container: string): Promise<string | undefined> {
    const r = await this.h.probe(docker.containerImageId(container));
    return r.code === 0 ? r.stdout.trim() || undefined : undefined;
  }

  async hasImage(ref: string): Promise<boolean> {
    return (await this.h.probe(docker.imageExists(ref))).code === 0;
  }

  /** Make sure `ref` (e.g. a `repo@sha256:` digest) is on the host: pulled only when missing. */
  async ensureImage(ref: string): Promise<void> {
    if (!(await this.hasImage(ref))) await this.h.run(docker.pull(ref));
  }


  /**
   * Upload the app's runtime env file (normalised docker --env-file content, mode 0600) as the
   * app's one env file, removing older per-release files; returns its path on the host. Docker
   * reads it when a container is created, so retained releases do not need it afterwards.
   */
  async uploadEnv(content: string): Promise<string> {
    await this.h.run(host.writeEnvFile(this.layout.envFile), { input: content });
    return this.layout.envFile;
  }

  /** The app has no env file any more: remove what an earlier deploy uploaded. */
  async removeEnv(): Promise<void> {
    await this.h.run(host.removeFile(this.layout.envFile));
  }

  private spec(rel: Release, envFile?: string): docker.AppContainerSpec {
    return { name: rel.container, image: rel.image, app: this.t.app, version: rel.version, runId: this.runId, envFile, env: { APP_VERSION: rel.version, PORT: String(this.t.appPort) }, volumes: this.t.volumes, logging: this.t.settings.logging };
  }

  /** Start a role's container (its command, env additions, stop signal and drain); no proxy, no port. */
  async startRole(role: RoleSpec, rel: Release, envFile?: string): Promise<void> {
    const base = this.spec(rel, envFile);
    await this.h.run(docker.runApp({ ...base, env: { ...base.env, PIER_ROLE: role.name, ...role.env }, role: { name: role.name, command: role.command, stopSignal: role.stopSignal, drainSeconds: role.drainSeconds } }));
  }

  /**
   * Wait until a role's container is healthy: its health command (docker exec) exits 0, polled every
   * intervalSeconds up to timeoutSeconds; without one, the container still runs 2 s after the start.
   * A container that stopped fails at once; the failure carries its last log lines.
   */
  async waitRoleHealthy(role: RoleSpec, rel: Release, signal?: AbortSignal): Promise<void> {
    const timeoutS = role.health?.timeoutSeconds ?? 10;
    let last = '';
    let runningSince: number | undefined;
    const outcome = await poll(`${this.name}: ${rel.container} health`, async () => {
      const running = (await this.h.probe(docker.containerRunning(rel.container))).stdout.trim();
      if (running !== 'true') return 'stopped' as const;
      if (role.health) {
        const r = await this.h.probe(docker.execIn(rel.container, role.health.command));
        if (r.code === 0) return 'healthy' as const;
        last = `exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').at(-1)}` : ''}`;
        return notYet(last);
      }
      runningSince ??= deployClock.now();
      return deployClock.now() - runningSince >= 2000 ? ('healthy' as const) : notYet('running');
    }, { timeoutMs: timeoutS * 1000, intervalMs: (role.health?.intervalSeconds ?? 0.5) * 1000, retry: () => false, signal, clock: deployClock }).catch((e: unknown) => {
      signal?.throwIfAborted();
      if (e instanceof PollError) return 'timeout' as const;
      throw e;
    });
    if (outcome === 'healthy') return;
    const logs = (await this.h.probe(docker.logsTail(rel.container, 15))).stdout + '';
    const why = outcome === 'stopped' ? 'stopped' : `did not become healthy within ${timeoutS}s${last ? ` (last check ${last})` : ''}`;
    throw new HealthError(this.name, `${this.t.app} ${role.name} ${rel.version} (${rel.container}) ${why}`, logs.trim());
  }

  /** One look at a role's health (pier status): 'healthy', 'stopped', or the failed check. */
  async roleHealth(role: RoleSpec, container: string): Promise<string> {
    const running = (await this.h.probe(docker.containerRunning(container))).stdout.trim();
    if (running !== 'true') return running === 'false' ? 'stopped' : 'missing';
    if (!role.health) return 'healthy';
    const r = await this.h.probe(docker.execIn(container, role.health.command));
    return r.code === 0 ? 'healthy' : `unhealthy (exit ${r.code})`;
  }

  /** An accessory's state, start time and container id (undefined when absent). */
  async accessoryState(container: string): Promise<{ state: string; startedAt: string; id: string } | undefined> {
    const r = await this.h.probe(accessory.accessoryState(container));
    if (r.code !== 0) return undefined;
    const [state = '', startedAt = '', id = ''] = r.stdout.trim().split(' ');
    return { state, startedAt, id };
  }

  /** Create an accessory container: its env file (0600) goes up, docker reads it, and it is removed again. */
  async createAccessory(run: string[], envFile: string | undefined, envContent: string): Promise<void> {
    if (envFile) await this.h.run(host.writeEnvFile(envFile), { input: envContent });
    try {
      await this.h.run(run);
    } finally {
      if (envFile) await this.h.run(host.removeFile(envFile)).catch(() => undefined);
    }
  }

  /** Monitoring: write prometheus.yml / rules.yml (0644: Prometheus runs as nobody) under the host's monitoring directory. */
  async writeMonitoringFile(name: string, content: string): Promise<string> {
    const file = `${monitoring.monitoringDir(this.t.settings.dir)}/${name}`;
    // Readable by the container's user (nobody) whatever the session's umask.
    await this.h.run(host.mkdirs(monitoring.monitoringDir(this.t.settings.dir)));
    await this.h.run(['chmod', '0755', monitoring.monitoringDir(this.t.settings.dir)]);
    await this.h.run(host.writeFile(file, '0644'), { input: content });
    return file;
  }

  /** Monitoring: `promtool check config` (and the rules it names) in `image`; '' when fine, else promtool's complaint. */
  async checkPrometheusConfig(image: string, configFile: string): Promise<string> {
    // The directory writeMonitoringFile wrote to (never passed in: a wrong one mounts an empty directory).
    const r = await this.h.probe(monitoring.checkConfig(image, this.t.settings.dir, configFile), { timeoutMs: 60_000 });
    return r.code === 0 ? '' : `${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' ');
  }

  /** Monitoring: (re)create a container from `run` (its name is the argv's --name), so new settings take effect. */
  async replaceContainer(container: string, run: string[]): Promise<void> {
    await this.h.probe(docker.remove(container));
    await this.h.run(run);
  }

  /** Monitoring: an instant query through promtool in the Prometheus container; undefined while it does not answer. */
  async promQuery(listen: string, query: string): Promise<string | undefined> {
    const r = await this.h.probe(monitoring.promQuery(listen, query), { timeoutMs: 15_000 });
    return r.code === 0 ? r.stdout : undefined;
  }

  /** Monitoring: remove the set's containers on this host, its config directory, and (asked) Prometheus's data. */
  async removeMonitoring(volumes: boolean): Promise<void> {
    await this.h.probe(docker.remove(monitoring.EXPORTER_CONTAINER, monitoring.PROMETHEUS_CONTAINER));
    await this.h.run(['rm', '-rf', monitoring.monitoringDir(this.t.settings.dir)]);
    if (volumes) await this.h.probe(['docker', 'volume', 'rm', monitoring.PROMETHEUS_VOLUME]);
  }

  /** The command (docker exec) exits 0 in `container`. */
  async commandPasses(container: string, command: readonly string[]): Promise<boolean> {
    return (await this.h.probe(docker.execIn(container, command))).code === 0;
  }

  /** Poll a command in `container` (every 500 ms) until it exits 0; throws after `timeoutS` with the last output. */
  async waitCommand(container: string, command: readonly string[], timeoutS: number): Promise<void> {
    let last = '';
    await poll(`${this.name}: ${container} health (${command.join(' ')})`, async () => {
      const r = await this.h.probe(docker.execIn(container, command));
      last = `exit ${r.code} ${r.stderr.trim()}`.trim();
      return r.code === 0 ? true : notYet(last);
    }, { timeoutMs: timeoutS * 1000, intervalMs: 500, retry: () => false, clock: deployClock });
  }

  /** The last `lines` log lines of a container (stdout and stderr). */
  async containerLogs(container: string, lines: number): Promise<string> {
    const r = await this.h.probe(docker.logsTail(container, lines));
    if (r.code !== 0) throw new Error(`${this.name}: ${r.stderr.trim()}`);
    return `${r.stdout}${r.stderr}`;
  }

  /** Run the migration command once, in the new image, before traffic moves. */
  async migrate(rel: Release, command: readonly string[], envFile?: string): Promise<string> {
    return this.h.run(docker.runOnce(this.spec(rel, envFile), command));
  }

  /**
   * Start `rel` beside the serving release. Its name is new (see release()): nothing running is
   * removed or replaced here, whatever the proxy points at keeps serving.
   */
  async start(rel: Release, envFile?: string): Promise<StartedRelease> {
    // No address lookup: each health probe finds the container's address itself (one round trip).
    await this.h.run(docker.runApp(this.spec(rel, envFile)));
    return rel;
  }

  /** Start an existing (retained) release container again. */
  async restart(rel: Release): Promise<StartedRelease> {
    // `docker start` of a running container is a no-op success: no state lookup first.
    await this.h.run(docker.start(rel.container));
    return rel;
  }

  async exists(container: string): Promise<boolean> {
    return (await this.h.probe(docker.containerRunning(container))).code === 0;
  }

  /** One health probe of `rel` (its address looked up host-side in the same round trip). */
  async lookHealthy(rel: Release): Promise<HealthLook> {
    const out = (await this.h.probe(host.healthProbe(rel.container, HOST_NETWORK, this.t.appPort, this.t.healthPath, 2))).stdout;
    const [status = '', running = ''] = out.split('\n').map((l) => l.trim());
    if (status === '200') return { state: 'healthy' };
    return running === 'false' ? { state: 'stopped', status } : { state: 'waiting', status };
  }

  /**
   * Poll the health path until 200 or `timeoutS`: the first probe at once, then every
   * HEALTH_POLL_MS, one round trip each (status and container state together); on failure the
   * last log lines are attached.
   */
  async waitHealthy(rel: StartedRelease, timeoutS: number, signal?: AbortSignal): Promise<void> {
    let last = '';
    // Ends healthy, on a container that stopped, or at the timeout; an abort throws its reason.
    const outcome = await poll(`${this.name}: ${rel.container} health`, async () => {
      const look = await this.lookHealthy(rel);
      if (look.state === 'healthy') return 'healthy' as const;
      last = look.status;
      if (look.state === 'stopped') return 'stopped' as const;
      return notYet(`status ${last || 'none'}`);
    }, { timeoutMs: timeoutS * 1000, intervalMs: HEALTH_POLL_MS, retry: () => false, signal, clock: deployClock }).catch((e: unknown) => {
      signal?.throwIfAborted();
      if (e instanceof PollError) return 'timeout' as const;
      throw e;
    });
    if (outcome === 'healthy') return;
    const logs = (await this.h.probe(docker.logsTail(rel.container, 15))).stdout + '';
    throw new HealthError(this.name, `${this.t.app} ${rel.version} (${rel.container}) did not become healthy within ${timeoutS}s (last ${this.t.healthPath} status ${last || 'none'})`, logs.trim());
  }

  /** The proxy's TLS view (proxy.tls): `serve` once the certificate is on the host (deploys upload it first). */
  proxyTls(serve = true): ProxyTls | undefined {
    const t = this.t.tls;
    return t ? { port: t.port, serve, ...(t.hsts ? { hsts: t.hsts } : {}) } : undefined;
  }

  /** The proxy as this host's own clients reach it: HTTPS when TLS is on. */
  private proxyUrl(path: string): string {
    return this.t.tls ? `https://127.0.0.1:${this.t.tls.port}${path}` : `http://127.0.0.1:${this.t.settings.proxyPort}${path}`;
  }

  /** Point the proxy at `upstreams` and reload gracefully (starting the proxy on first use). Returns where the access log was at the switch. */
  async switchProxy(upstreams: Upstream[]): Promise<LogCursor> {
    return this.applyProxyConf(renderProxyConf({ upstreams, tls: this.proxyTls() }));
  }

  /** Write `conf` as the proxy config and reload gracefully (starting the proxy on first use). Returns where the access log was before it. */
  async applyProxyConf(conf: string): Promise<LogCursor> {
    // The config write+reload (one host-side step: the config on disk is what nginx serves) and
    // the access-log mark go out together.
    const [switched, offset] = await Promise.all([
      this.h.probe(host.writeProxyConf(this.layout.upstreamConf, PROXY_CONTAINER), { input: conf }),
      this.accessLogMark(),
    ]);
    if (switched.code !== 0) await this.proxyAfterFailedReload(conf);
    return offset;
  }

  /**
   * The proxy almost always runs; only when the write+reload step failed is the config written on
   * its own and the proxy's state looked at (absent or stopped: start it; running: reload again, so
   * a config nginx rejects is reported).
   */
  private async proxyAfterFailedReload(conf: string): Promise<void> {
    await this.h.run(host.writeFile(this.layout.upstreamConf, '0644'), { input: conf });
    const state = await this.h.probe(docker.containerRunning(PROXY_CONTAINER));
    if (state.code !== 0) {
      const image = this.t.settings.proxyImage;
      if (!(await this.hasImage(image))) await this.h.run(docker.pull(image));
      await this.h.run(docker.runProxy({ image, publicPort: this.t.settings.proxyPort, tlsPort: this.t.tls?.port, nginxDir: this.layout.nginxDir, logDir: this.layout.logDir, logging: this.t.settings.logging }));
    } else {
      if (state.stdout.trim() !== 'true') await this.h.run(docker.start(PROXY_CONTAINER));
      await this.h.run(docker.proxyReload());
    }
  }

  /**
   * Switch the proxy to `to` alone and record it, in one round trip (commands/switch.ts):
   * `probeHealth` first asks the (retained, running) release for 200 and changes nothing unless
   * it answers; then the log mark, the config + graceful reload, the smoke test through the proxy,
   * current.json + the release record, and `stopLater`'s timer. When the reload step fails the
   * slow path of applyProxyConf (start or reload the proxy) and the remaining parts run one by one.
   * Returns where the access log was before the switch.
   */
  async switchTo(to: Release, o: { probeHealth?: boolean; current: CurrentRelease; record: ReleaseRecord; stopLater?: { container: string; afterSeconds: number } }): Promise<{ outcome: 'switched'; cursor: LogCursor } | { outcome: 'unhealthy'; status: string; running: boolean }> {
    const conf = renderProxyConf({ upstreams: [upstreamOf(to, this.t.appPort)], tls: this.proxyTls() });
    const smokeUrl = this.proxyUrl(this.t.settings.smokePath ?? this.t.healthPath);
    const stopLater = o.stopLater && { ...o.stopLater, lockDir: this.layout.lockDir };
    const step = switchStep({
      ...(o.probeHealth ? { health: { container: to.container, network: HOST_NETWORK, port: this.t.appPort, path: this.t.healthPath, timeoutSeconds: 2 } } : {}),
      accessLog: this.layout.accessLog,
      conf: { file: this.layout.upstreamConf, proxyContainer: PROXY_CONTAINER },
      smoke: { url: smokeUrl, ...SMOKE },
      record: { currentFile: this.layout.currentFile, currentJson: JSON.stringify(o.current), releasesLog: this.layout.releasesLog, recordLine: JSON.stringify(o.record) },
      ...(stopLater ? { stopLater } : {}),
    });
    const r = await this.h.probe(step, { input: conf });
    const out = parseSwitchOutput(r.stdout);
    const cursor = parseMark(out.mark ?? '');
    if (r.code === 0) return { outcome: 'switched', cursor };
    if (r.code === SWITCH_EXIT.unhealthy) return { outcome: 'unhealthy', status: out.health?.status ?? '', running: out.health?.running === 'true' };
    if (r.code === SWITCH_EXIT.smoke) throw new HealthError(this.name, `smoke test through the proxy failed: GET ${smokeUrl} -> ${out.smoke || 'no response'}`);
    if (r.code !== SWITCH_EXIT.proxy) throw new RemoteCommandError(this.name, step, r);
    await this.proxyAfterFailedReload(conf);
    await this.smoke();
    await this.recordSwitch(o.current, o.record);
    if (stopLater) await this.scheduleStop(stopLater.container, stopLater.afterSeconds);
    return { outcome: 'switched', cursor };
  }

  /** Request the smoke path through the host's proxy; retried for up to ~5 s while a fresh proxy starts. */
  async smoke(): Promise<void> {
    const url = this.proxyUrl(this.t.settings.smokePath ?? this.t.healthPath);
    let last = '';
    // Up to 50 requests, 100 ms apart (the time bound only backs up the count).
    const ok = await poll(`${this.name}: smoke`, async () => {
      last = (await this.h.probe(host.httpStatus(url, SMOKE.timeoutSeconds))).stdout.trim();
      return last === '200' ? true : notYet(last || 'no response');
    }, { timeoutMs: 300_000, intervalMs: 100, maxAttempts: SMOKE.tries, retry: () => false, clock: deployClock }).catch((e: unknown) => {
      if (e instanceof PollError) return false;
      throw e;
    });
    if (ok) return;
    throw new HealthError(this.name, `smoke test through the proxy failed: GET ${url} -> ${last || 'no response'}`);
  }

  /** Where the access log ends now (a reader's start: log-cursor.ts). */
  async accessLogMark(): Promise<LogCursor> {
    return parseMark(await this.h.run(host.logMark(this.layout.accessLog)));
  }

  /**
   * Access-log entries (complete lines) the proxy wrote since `cursor`, across rotations, and the
   * cursor after them: one round trip.
   */
  async readAccessLog(cursor: LogCursor): Promise<{ entries: AccessEntry[]; cursor: LogCursor }> {
    const r = afterRead(await this.h.run(host.readLogSince(this.layout.accessLog, cursorArgs(cursor)), { timeoutMs: 10_000 }), cursor);
    return { entries: parseAccessLog(r.text), cursor: r.cursor };
  }

  /** Access-log entries the proxy wrote since `cursor` (a switch's mark), across rotations. */
  async accessEntriesSince(cursor: LogCursor): Promise<AccessEntry[]> {
    return (await this.readAccessLog(cursor)).entries;
  }

  /** Requests and 5xx of `version` logged by this host's proxy since `cursor`. */
  async errorStatsSince(cursor: LogCursor, version: string): Promise<ErrorStats> {
    return errorStats(await this.accessEntriesSince(cursor), version);
  }

  /** HTTP status of the health path through the host's proxy ('' when nothing answered). */
  async proxyHealthStatus(): Promise<string> {
    return (await this.h.probe(host.httpStatus(this.proxyUrl(this.t.healthPath), 3))).stdout.trim();
  }

  /** Maintenance on (page + snippet, nginx reload); throws naming the host when nginx refuses it. */
  async maintenanceOn(conf: string, page: string): Promise<void> {
    await this.h.run(maintenance.maintenanceOn(this.layout.nginxDir, conf), { input: page });
  }

  /** Maintenance off (snippet removed, graceful reload). */
  async maintenanceOff(): Promise<void> {
    await this.h.run(maintenance.maintenanceOff(this.layout.nginxDir));
  }

  /** The maintenance snippet on the host ('' when maintenance is off). */
  async maintenanceConf(): Promise<string> {
    return this.h.run(host.readFile(maintenance.maintenanceFiles(this.layout.nginxDir).conf));
  }

  /** HTTP status of `path` through the host's proxy ('' when nothing answered). */
  async proxyStatus(path: string): Promise<string> {
    return (await this.h.probe(host.httpStatus(this.proxyUrl(path), 3))).stdout.trim();
  }

  /**
   * A host-side timer stops `container` after `seconds` (blue/green window, rollback drain), not
   * while a deploy holds the lock, and not when it serves again by then.
   */
  async scheduleStop(container: string, seconds: number): Promise<void> {
    await this.h.run(scheduleStop(container, this.layout.currentFile, seconds, this.layout.lockDir));
  }

  /** One attempt at this host's deploy lock (atomic mkdir); other failures throw. */
  async tryLock(info: LockInfo): Promise<LockAttempt> {
    const r = await this.h.probe(host.acquireLock(this.layout.lockDir, JSON.stringify(info)));
    if (r.code === 0) return { taken: true };
    if (r.code === host.LOCK_HELD_EXIT) return { taken: false, holder: parseLock(r.stdout) ?? parseLock('?')! };
    throw new EnvironmentError(`${this.name}: could not take the deploy lock: ${r.stderr.trim()}`);
  }

  /** Release the lock if run `runId` holds it; `removeEnv`: delete the app's env file first, in the same round trip. */
  async unlock(runId: string, opts: { removeEnv?: boolean } = {}): Promise<void> {
    const argv = opts.removeEnv ? host.removeAndReleaseLock(this.layout.lockDir, runId, this.layout.envFile) : host.releaseLock(this.layout.lockDir, runId);
    await this.h.run(argv, { timeoutMs: 10_000 });
  }

  /** The lock holder's record (undefined when free). */
  async lockHolder(): Promise<LockInfo | undefined> {
    return parseLock(await this.h.run(host.readLock(this.layout.lockDir)));
  }

  /** Remove the lock whoever holds it. */
  async forceUnlock(): Promise<void> {
    await this.h.run(host.forceReleaseLock(this.layout.lockDir));
  }

  async stop(container: string, timeoutS = 10): Promise<void> {
    const r = await this.h.probe(docker.stop(container, timeoutS));
    if (r.code !== 0 && !/No such container/i.test(r.stderr)) throw new Error(`${this.name}: docker stop ${container}: ${r.stderr.trim()}`);
  }

  async remove(container: string): Promise<void> {
    await this.h.probe(docker.remove(container));
  }

  async setCurrent(cur: CurrentRelease): Promise<void> {
    await this.h.run(host.writeFile(this.layout.currentFile, '0644'), { input: `${JSON.stringify(cur)}\n` });
  }

  /** current.json and the release record of a switch (of `role` when given), in that order, in one round trip. */
  async recordSwitch(cur: CurrentRelease, rec: ReleaseRecord, role?: string): Promise<void> {
    const f = this.files(role);
    if (role) await this.h.run(host.mkdirs(f.currentFile.slice(0, f.currentFile.lastIndexOf('/'))));
    await this.h.run(host.recordSwitch(f.currentFile, JSON.stringify(cur), f.releasesLog, JSON.stringify(rec)));
  }

  async recordRelease(rec: ReleaseRecord): Promise<void> {
    await this.h.run(host.appendLine(this.layout.releasesLog, JSON.stringify(rec)));
  }

  async audit(line: string): Promise<void> {
    await this.h.run(host.appendLine(this.layout.auditLog, line));
  }

  /** Audit lines appended in order, each tried twice; never throws (a lost line never fails the command it records). */
  async auditLines(lines: readonly string[]): Promise<void> {
    for (const line of lines) await this.audit(line).catch(() => this.audit(line)).catch(() => undefined);
  }

  /** Release containers of this app on the host, of web (no role label) or of `role` (newest first as docker lists them). */
  async listReleases(role = ''): Promise<ReleaseContainer[]> {
    const out = await this.h.run(docker.listReleases(this.t.app));
    return out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((c) => (c.role ?? '') === role);
  }

  /**
   * Remove stopped release containers (of web or `role`) beyond the newest `keep` (never those in
   * `protect`), in one command. `listed`: the host's listing (of the same role) taken under this
   * run's lock (a deploy's start), saving the listing round trip: under the lock only this run
   * starts containers (the new one is protected) and no timer stops one, and a container listed
   * as running is never removed.
   */
  async prune(keep: number, protect: string[], listed?: readonly ReleaseContainer[], role = ''): Promise<string[]> {
    const removed = releasesToPrune(listed ?? (await this.listReleases(role)), keep, protect);
    if (removed.length) await this.h.probe(docker.remove(...removed));
    return removed;
  }

  /** The proxy config currently on the host (for status). */
  async proxyConf(): Promise<string> {
    return this.h.run(host.readFile(this.layout.upstreamConf));
  }

  /** Where the proxy's certificate files live on the host (its conf.d/tls/). */
  get tlsFiles(): { cert: string; key: string; challengeDir: string } {
    return { cert: `${this.layout.nginxDir}/tls/cert.pem`, key: `${this.layout.nginxDir}/tls/key.pem`, challengeDir: `${this.layout.nginxDir}/acme-challenge` };
  }

  /** The certificate chain the proxy has ('' when none). */
  async readCertificate(): Promise<string> {
    return this.h.run(host.readFile(this.tlsFiles.cert));
  }

  /**
   * Upload the certificate and its key (both 0600, atomic renames; the key travels on stdin only).
   * nginx keeps serving the old pair until its next graceful reload. Unchanged files are not rewritten.
   */
  async installCertificate(chainPem: string, keyPem: string): Promise<boolean> {
    if ((await this.readCertificate()) === chainPem) return false;
    const f = this.tlsFiles;
    // Key first: a reload between the two writes must not pair a new certificate with the old key.
    await this.h.run(host.writeFile(f.key, '0600'), { input: keyPem });
    await this.h.run(host.writeFile(f.cert, '0600'), { input: chainPem });
    return true;
  }

  /** An HTTP-01 answer for `token`, served by the proxy at /.well-known/acme-challenge/<token>. */
  async writeChallenge(token: string, keyAuthorization: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error(`ACME token ${JSON.stringify(token)}: unexpected characters`);
    await this.h.run(host.writeFile(`${this.tlsFiles.challengeDir}/${token}`, '0644'), { input: keyAuthorization });
  }

  async removeChallenge(token: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) return;
    await this.h.probe(host.removeFile(`${this.tlsFiles.challengeDir}/${token}`));
  }

  /** The challenge file as this host's proxy answers it on port 80 (status and body). */
  async challengeAnswer(token: string): Promise<string> {
    return (await this.h.probe(host.httpBody(`http://127.0.0.1:${this.t.settings.proxyPort}/.well-known/acme-challenge/${token}`, 3))).stdout;
  }

  /** Does the running proxy publish the HTTPS port? (a proxy started before proxy.tls does not) */
  async proxyPublishesTls(): Promise<boolean> {
    const r = await this.h.probe(docker.proxyTlsPort());
    return r.code === 0 && r.stdout.trim() !== '';
  }

  /** No proxy container yet, one without the HTTPS port, or one publishing it. */
  async proxyTlsState(): Promise<'absent' | 'http-only' | 'tls'> {
    if ((await this.h.probe(docker.containerRunning(PROXY_CONTAINER))).code !== 0) return 'absent';
    return (await this.proxyPublishesTls()) ? 'tls' : 'http-only';
  }

  /** Remove the proxy container (it is started again, publishing both ports, by applyProxyConf). */
  async removeProxy(): Promise<void> {
    await this.h.probe(docker.remove(PROXY_CONTAINER));
  }

  /** Graceful reload (new certificate files); fails when nginx rejects the config. */
  async reloadProxy(): Promise<void> {
    await this.h.run(docker.proxyReload());
  }
}

/**
 * Which release containers a prune removes (pure): the newest `keep` (those in `protect` first)
 * stay, and so does every running one; the rest, stopped, go.
 */
export function releasesToPrune(all: readonly { name: string; state: string; created: string }[], keep: number, protect: readonly string[]): string[] {
  const sorted = [...all].sort((a, b) => b.created.localeCompare(a.created));
  const kept = new Set(protect);
  const removed: string[] = [];
  for (const c of sorted) {
    if (kept.has(c.name)) continue;
    if (kept.size < keep) {
      kept.add(c.name);
      continue;
    }
    if (c.state !== 'running') removed.push(c.name);
  }
  return removed;
}
