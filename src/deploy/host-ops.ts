/**
 * Operations on one host, each a short sequence of commands/* run through the executor: get the
 * image, start a release beside the serving one, health-check it, switch the proxy, read the
 * access log, stop and prune old releases.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GateError } from '../util/errors.ts';
import { errorStats, parseAccessLog, type ErrorStats } from './access-log.ts';
import * as docker from './commands/docker.ts';
import * as host from './commands/host.ts';
import { hostLayout, PROXY_CONTAINER, releaseContainer, type HostLayout } from './commands/layout.ts';
import { renderProxyConf, type Upstream } from './commands/nginx.ts';
import type { HostSession } from './executor.ts';
import { parseReleases, type CurrentRelease, type ReleaseRecord } from './records.ts';
import type { DeployTarget } from './target.ts';

/** Health poll interval: short, since each poll is one cheap round trip and the switch waits on it. */
export const HEALTH_POLL_MS = 100;

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

/** A release on a host: started, with its network address. */
export interface StartedRelease extends Release {
  ip: string;
}

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

  /** Build a release description for `version` with image `image`. */
  release(version: string, image: string): Release {
    return { version, image, container: releaseContainer(this.t.app, version) };
  }

  async ensureBase(): Promise<void> {
    const l = this.layout;
    const [, net] = await Promise.all([this.h.run(host.mkdirs(l.nginxDir, l.logDir, l.envDir)), this.h.probe(docker.networkExists())]);
    if (net.code !== 0) {
      const r = await this.h.probe(docker.networkCreate());
      if (r.code !== 0 && !/already exists/.test(r.stderr)) await this.h.run(docker.networkCreate());
    }
  }

  async readCurrent(): Promise<CurrentRelease | undefined> {
    const text = (await this.h.run(host.readFile(this.layout.currentFile))).trim();
    return text ? (JSON.parse(text) as CurrentRelease) : undefined;
  }

  async readReleases(): Promise<ReleaseRecord[]> {
    return parseReleases(await this.h.run(host.readFile(this.layout.releasesLog)));
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

  async hasImage(ref: string): Promise<boolean> {
    return (await this.h.probe(docker.imageExists(ref))).code === 0;
  }

  /** Make sure `ref` (e.g. a `repo@sha256:` digest) is on the host: pulled only when missing. */
  async ensureImage(ref: string): Promise<void> {
    if (!(await this.hasImage(ref))) await this.h.run(docker.pull(ref));
  }

  /** `docker load` an image tarball streamed from this machine. */
  async loadImage(tarball: Readable, timeoutMs: number): Promise<void> {
    await this.h.run(docker.load(), { input: tarball, timeoutMs });
  }

  /** Upload the app's runtime env file (mode 0600); returns its path on the host. */
  async uploadEnv(version: string, content: string): Promise<string> {
    const file = `${this.layout.envDir}/${releaseContainer(this.t.app, version)}.env`;
    await this.h.run(host.writeFile(file, '0600'), { input: content });
    return file;
  }

  private spec(rel: Release, envFile?: string): docker.AppContainerSpec {
    return { name: rel.container, image: rel.image, app: this.t.app, version: rel.version, runId: this.runId, envFile, env: { APP_VERSION: rel.version, PORT: String(this.t.appPort) } };
  }

  /** Run the migration command once, in the new image, before traffic moves. */
  async migrate(rel: Release, command: readonly string[], envFile?: string): Promise<string> {
    return this.h.run(docker.runOnce(this.spec(rel, envFile), command));
  }

  /** Start `rel` beside the serving release (a stale container of the same name is replaced). */
  async start(rel: Release, envFile?: string): Promise<StartedRelease> {
    await this.h.probe(docker.remove(rel.container));
    await this.h.run(docker.runApp(this.spec(rel, envFile)));
    return { ...rel, ip: await this.ip(rel.container) };
  }

  /** Start an existing (retained) release container again. */
  async restart(rel: Release): Promise<StartedRelease> {
    const running = (await this.h.probe(docker.containerRunning(rel.container))).stdout.trim() === 'true';
    if (!running) await this.h.run(docker.start(rel.container));
    return { ...rel, ip: await this.ip(rel.container) };
  }

  async exists(container: string): Promise<boolean> {
    return (await this.h.probe(docker.containerRunning(container))).code === 0;
  }

  private async ip(container: string): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const ip = (await this.h.run(docker.containerIp(container))).trim();
      if (ip && ip !== '<no value>') return ip;
      await sleep(100);
    }
    throw new HealthError(this.name, `${container} has no address on the pier network`);
  }

  /**
   * Poll the health path until 200 or `timeoutS`, every HEALTH_POLL_MS, one round trip per poll
   * (the status, and the container's state when not 200); on failure the last log lines are attached.
   */
  async waitHealthy(rel: StartedRelease, timeoutS: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutS * 1000;
    const url = `http://${rel.ip}:${this.t.appPort}${this.t.healthPath}`;
    let last = '';
    while (Date.now() < deadline) {
      signal?.throwIfAborted();
      const [status = '', running = ''] = (await this.h.probe(host.healthProbe(url, rel.container, 2))).stdout.trim().split('\n');
      last = status.trim();
      if (last === '200') return;
      if (running.trim() === 'false') break;
      await sleep(HEALTH_POLL_MS);
    }
    const logs = (await this.h.probe(docker.logsTail(rel.container, 15))).stdout + '';
    throw new HealthError(this.name, `${rel.container} did not become healthy within ${timeoutS}s (last ${this.t.healthPath} status ${last || 'none'})`, logs.trim());
  }

  /** Point the proxy at `upstreams` and reload gracefully (starting the proxy on first use). Returns the access-log offset at the switch. */
  async switchProxy(upstreams: Upstream[]): Promise<number> {
    // The config write and the access-log offset go out together; the reload waits for both.
    const [, size] = await Promise.all([
      this.h.run(host.writeFile(this.layout.upstreamConf, '0644'), { input: renderProxyConf({ upstreams }) }),
      this.h.run(host.fileSize(this.layout.accessLog)),
    ]);
    const offset = Number(size.trim()) || 0;
    // The proxy almost always runs: reload straight away, and look at its state only when that fails
    // (absent or stopped: start it; running: reload again, so a config nginx rejects is reported).
    if ((await this.h.probe(docker.proxyReload())).code === 0) return offset;
    const state = await this.h.probe(docker.containerRunning(PROXY_CONTAINER));
    if (state.code !== 0) {
      const image = this.t.settings.proxyImage;
      if (!(await this.hasImage(image))) await this.h.run(docker.pull(image));
      await this.h.run(docker.runProxy({ image, publicPort: this.t.settings.proxyPort, nginxDir: this.layout.nginxDir, logDir: this.layout.logDir }));
    } else {
      if (state.stdout.trim() !== 'true') await this.h.run(docker.start(PROXY_CONTAINER));
      await this.h.run(docker.proxyReload());
    }
    return offset;
  }

  /** Request the smoke path through the host's proxy; retried for up to ~5 s while a fresh proxy starts. */
  async smoke(): Promise<void> {
    const url = `http://127.0.0.1:${this.t.settings.proxyPort}${this.t.settings.smokePath ?? this.t.healthPath}`;
    let last = '';
    for (let i = 0; i < 50; i++) {
      last = (await this.h.probe(host.httpStatus(url, 3))).stdout.trim();
      if (last === '200') return;
      await sleep(100);
    }
    throw new HealthError(this.name, `smoke test through the proxy failed: GET ${url} -> ${last || 'no response'}`);
  }

  /** Requests and 5xx of `version` logged by this host's proxy since `offset`. */
  async errorStatsSince(offset: number, version: string): Promise<ErrorStats> {
    const text = await this.h.run(host.readFrom(this.layout.accessLog, offset), { timeoutMs: 10_000 });
    return errorStats(parseAccessLog(text), version);
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

  /** current.json and the release record of a switch, in that order, in one round trip. */
  async recordSwitch(cur: CurrentRelease, rec: ReleaseRecord): Promise<void> {
    await this.h.run(host.recordSwitch(this.layout.currentFile, JSON.stringify(cur), this.layout.releasesLog, JSON.stringify(rec)));
  }

  async recordRelease(rec: ReleaseRecord): Promise<void> {
    await this.h.run(host.appendLine(this.layout.releasesLog, JSON.stringify(rec)));
  }

  async audit(line: string): Promise<void> {
    await this.h.run(host.appendLine(this.layout.auditLog, line));
  }

  /** Containers of this app on the host (newest first as docker lists them). */
  async listReleases(): Promise<{ name: string; state: string; image: string; release: string; created: string }[]> {
    const out = await this.h.run(docker.listReleases(this.t.app));
    return out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  /** Remove stopped release containers beyond the newest `keep` (never those in `protect`). */
  async prune(keep: number, protect: string[]): Promise<string[]> {
    const all = await this.listReleases();
    const sorted = all.sort((a, b) => b.created.localeCompare(a.created));
    const kept = new Set(protect);
    const removed: string[] = [];
    for (const c of sorted) {
      if (kept.has(c.name)) continue;
      if (kept.size < keep) {
        kept.add(c.name);
        continue;
      }
      if (c.state !== 'running') {
        await this.remove(c.name);
        removed.push(c.name);
      }
    }
    return removed;
  }

  /** The proxy config currently on the host (for status). */
  async proxyConf(): Promise<string> {
    return this.h.run(host.readFile(this.layout.upstreamConf));
  }
}
