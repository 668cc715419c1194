/**
 * The Engine conformance suite, written once and run against every engine available:
 * `engineConformance('docker', () => new DockerEngine(...), opts)` (test/integration/engine-docker.test.ts);
 * the Dagger runner calls it the same way and skips where no Dagger engine exists.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BuiltImage, Engine, SidecarSpec } from '../../src/engine/types.ts';
import { httpGet } from '../../src/util/http.ts';
import { poll } from '../../src/util/poll.ts';
import { repoRoot } from '../helpers/paths.ts';
import { get } from '../helpers/http.ts';

export interface ConformanceOptions {
  /** Skip the whole suite with this reason (e.g. no Dagger engine here). */
  skip?: string;
  /** Images to use: a Node base (has sh and node) and a Redis image (has redis-cli). */
  images: { node: string; redis: string };
  /** A registry the engine can push to, `host:port` (prepared by `prepareRegistry`). */
  registry: string;
  prepareRegistry?: () => Promise<void>;
  /** How many containers, networks and volumes labelled `pier.run=<runId>` exist now. */
  leftovers: (runId: string) => Promise<number>;
}

export const conformanceContext = join(repoRoot, 'test', 'conformance', 'fixture');

/** Register the conformance tests for one engine. */
export function engineConformance(name: string, makeEngine: () => Engine | Promise<Engine>, opts: ConformanceOptions): void {
  describe.skipIf(Boolean(opts.skip))(`Engine conformance: ${name}${opts.skip ? ` (skipped: ${opts.skip})` : ''}`, () => {
    const engines: Engine[] = [];
    const tmp = mkdtempSync(join(tmpdir(), `pier-conf-${name}-`));
    const secretFile = join(tmp, 'token');
    const secret = 'conformance-secret-value-8f3a';
    writeFileSync(secretFile, secret);
    const cache: SidecarSpec = { name: 'cache', image: opts.images.redis, env: {}, port: 6379, healthcheck: ['redis-cli', 'ping'] };
    let engine: Engine;
    let server: BuiltImage;

    const fresh = async () => {
      const e = await makeEngine();
      engines.push(e);
      return e;
    };

    afterAll(async () => {
      for (const e of engines) await e.close();
    });

    it('builds a target with build args and a secret that stays out of every layer', async () => {
      engine = await fresh();
      const tag = `pier-conformance/${name}:${engine.runId}`;
      server = await engine.build({
        context: conformanceContext,
        dockerfile: 'Dockerfile',
        target: 'server',
        buildArgs: { BASE: opts.images.node, GREETING: 'hello-conformance' },
        secrets: [{ id: 'token', file: secretFile }],
        tags: [tag],
      });
      expect(server.ref).toBe(tag);
      const r = await engine.run({ image: server, command: ['sh', '-c', 'cat /greeting /secret-length /target; grep -rl "$NEEDLE" / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | head -3; true'], env: { NEEDLE: secret } });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.split('\n').slice(0, 3)).toEqual(['hello-conformance', String(secret.length), 'server']);
      // The needle is in the run's env (/proc, excluded) but must be in no file of the image.
      expect(r.stdout.split('\n').slice(3).filter(Boolean)).toEqual([]);
      const other = await engine.build({
        context: conformanceContext,
        dockerfile: 'Dockerfile',
        target: 'other',
        buildArgs: { BASE: opts.images.node },
        secrets: [{ id: 'token', file: secretFile }],
        tags: [`${tag}-other`],
      });
      expect((await engine.run({ image: other, command: ['cat', '/target', '/greeting'] })).stdout).toBe('other\nunset\n');
    });

    it('a failing build is reported with its output', async () => {
      await expect(
        engine.build({ context: conformanceContext, dockerfile: 'Dockerfile', target: 'no-such-target', buildArgs: { BASE: opts.images.node }, secrets: [], tags: ['pier-conformance/none:x'] }),
      ).rejects.toThrow(/no-such-target/);
    });

    it('runs next to a sidecar reachable by name, streaming lines', async () => {
      const lines: string[] = [];
      const r = await engine.run({ image: opts.images.redis, command: ['redis-cli', '-h', 'cache', 'ping'], sidecars: [cache], onLog: (l) => lines.push(l) });
      expect(r.exitCode).toBe(0);
      expect(r.stdout.trim()).toBe('PONG');
      expect(lines).toContain('PONG');
    });

    it('reads outputs back after a non-zero exit, and keeps stdout and stderr apart', async () => {
      const r = await engine.run({
        image: server,
        command: ['sh', '-c', 'echo report > /tmp/out.json; echo to-stdout; echo to-stderr >&2; exit 3'],
        outputs: ['/tmp/out.json', '/tmp/never-written'],
      });
      expect(r.exitCode).toBe(3);
      expect(r.files).toEqual({ '/tmp/out.json': 'report\n' });
      expect(r.stdout).toBe('to-stdout\n');
      expect(r.stderr).toBe('to-stderr\n');
    });

    it('serves the image on a URL the caller reaches, with sidecars; stop ends it', async () => {
      const app = await engine.serve({ image: server, port: 8080, env: { MESSAGE: 'served-ok' }, sidecars: [cache] });
      expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // Bounded: 40 tries, 250 ms apart; the body it gave up on is in the failure.
      const body = await poll('a body from the served app', async () => (await httpGet(app.url, 1000)).body || undefined, { timeoutMs: 60_000, intervalMs: 250, maxAttempts: 40 }).catch((e: Error) => e.message);
      expect(body).toBe('served-ok cache=up');
      await app.stop();
      await expect(httpGet(app.url, 1000)).rejects.toThrow();
    });

    it('exports a docker-save tarball', async () => {
      const file = await engine.exportTarball(server, join(tmp, 'image.tar'));
      expect(existsSync(file) && statSync(file).size).toBeGreaterThan(1024 * 1024);
      expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n')).toContain('manifest.json');
    });

    it('publishes to a registry and returns the digest the registry serves', async () => {
      await opts.prepareRegistry?.();
      const address = `${opts.registry}/pier-conformance/${name}:${engine.runId}`;
      const pub = await engine.publish({ image: server, address });
      expect(pub.ref).toBe(address);
      expect(pub.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const res = await get(`http://${opts.registry}/v2/pier-conformance/${name}/manifests/${engine.runId}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
      });
      expect(res.headers.get('docker-content-digest')).toBe(pub.digest);
    });

    it('close removes every container, network and volume of the run, even mid-run', async () => {
      const e = await fresh();
      const running = e.run({ image: opts.images.redis, command: ['sleep', '60'], sidecars: [cache] }).catch((err: Error) => err);
      // Bounded: 60 looks, 250 ms apart, for the run's sidecar and its network.
      await poll('the run\'s container and network', async () => ((await opts.leftovers(e.runId)) >= 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 250, maxAttempts: 60 }).catch(() => undefined);
      expect(await opts.leftovers(e.runId)).toBeGreaterThanOrEqual(2);
      await e.close();
      expect(await running).toBeInstanceOf(Error);
      expect(await opts.leftovers(e.runId)).toBe(0);
      await engine.close();
      expect(await opts.leftovers(engine.runId)).toBe(0);
    });
  });
}
