/**
 * Dagger contract tests: the real @dagger.io/dagger SDK drives the Dagger engine implementation,
 * the pipeline runner and every module function against a recording server; every query sent is
 * validated against Dagger's real v0.21.8 schema, and the calls that matter are asserted.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connection, dag, type Container, type Directory, type Secret, type Service } from '@dagger.io/dagger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { DEFAULT_EXCLUDE, openDaggerEngine, SET_SECRET_LIMIT } from '../../src/engine/dagger.ts';
import type { Engine } from '../../src/engine/types.ts';
import { createProgress } from '../../src/pipeline/progress.ts';
import { runPipeline, selectStages } from '../../src/pipeline/runner.ts';
import { STAGES } from '../../src/pipeline/stages/index.ts';
import { EnvironmentError, ExitCode } from '../../src/util/errors.ts';
import { BuildFailedError, ImageUnavailableError } from '../../src/engine/types.ts';
import { exec } from '../../src/util/exec.ts';
import { runInit } from '../../src/init/init.ts';
import { repoRoot } from '../helpers/paths.ts';
import { runPier } from '../helpers/pier.ts';
import { countFile, DIGEST, startHarness, TRIVY_REPORT, type Harness } from './harness.ts';
import { GraphQLFailure, type Recorded, type Step } from './recording-server.ts';
import { get } from '../helpers/http.ts';

const apiDir = join(repoRoot, 'examples', 'api');
// Imported by path at run time: the module uses legacy decorators (its own tsconfig), which the
// root type check does not enable; `npm run typecheck:dagger` checks it with the SDK's types.
const modulePath = join(repoRoot, 'dagger', 'src', 'index.ts');

/** The module's functions as the tests call them (the class is imported by path, untyped). */
interface PierModule {
  build(source: Directory): Promise<Container>;
  serve(source: Directory): Promise<Service>;
  test(source: Directory): Promise<string>;
  scan(source: Directory): Promise<string>;
  loadTest(source: Directory): Promise<string>;
  publish(source: Directory, address?: string, username?: string, password?: Secret): Promise<string>;
  ci(source: Directory, skip?: string[], address?: string, username?: string, password?: Secret): Promise<string>;
}

const step = (r: Recorded | undefined, field: string): Step | undefined => r?.logical.find((s) => s.field === field);
const fields = (steps: Step[]) => steps.map((s) => s.field);

describe('Dagger contract (recording server, schema v0.21.8)', () => {
  let h: Harness;
  const tmp = mkdtempSync(join(tmpdir(), 'pier-dagger-contract-'));
  const since = (mark: number) => h.server.recorded.slice(mark);

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    if (h) {
      mkdirSync(dirname(countFile), { recursive: true });
      writeFileSync(countFile, JSON.stringify({ queries: h.server.recorded.length, invalid: h.server.invalid().length, at: new Date().toISOString() }));
      await h.stop();
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  describe('Engine on Dagger', () => {
    let engine: Engine;
    beforeAll(async () => {
      engine = await openDaggerEngine({ runId: 'contract-engine' });
    });
    afterAll(async () => engine?.close());

    it('build: dockerBuild of the host context with target, build args and a secret named by its id', async () => {
      const mark = h.server.recorded.length;
      const ca = join(tmp, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\ncontract\n-----END CERTIFICATE-----\n');
      const img = await engine.build({
        context: apiDir,
        dockerfile: 'Dockerfile',
        target: 'test',
        buildArgs: { NODE_IMAGE: 'node:22-bookworm-slim' },
        secrets: [{ id: 'ca', file: ca }],
        tags: ['pier/example-api:0.1.0-contract-test'],
        labels: { 'pier.app': 'example-api' },
      });
      expect(img).toEqual({ ref: 'pier/example-api:0.1.0-contract-test', target: 'test' });
      const q = since(mark).find((r) => step(r, 'dockerBuild'));
      expect(fields(q!.logical)).toEqual(['host', 'directory', 'dockerBuild', 'withLabel', 'withLabel', 'sync']);
      expect(q!.logical[1]!.args).toEqual({ path: apiDir, exclude: DEFAULT_EXCLUDE });
      const db = step(q, 'dockerBuild')!.args;
      expect(db).toMatchObject({ dockerfile: 'Dockerfile', target: 'test', buildArgs: [{ name: 'NODE_IMAGE', value: 'node:22-bookworm-slim' }] });
      expect(db.secrets).toHaveLength(1);
      // The BuildKit mount `id=ca` sees /run/secrets/ca because the Dagger secret is named "ca".
      expect(h.server.origin((db.secrets as string[])[0])).toEqual([{ field: 'setSecret', parent: 'Query', args: { name: 'ca', plaintext: expect.stringContaining('contract') } }]);
      expect(q!.logical.filter((s) => s.field === 'withLabel').map((s) => s.args)).toEqual([
        { name: 'pier.app', value: 'example-api' },
        { name: 'pier.run', value: 'contract-engine' },
      ]);
    });

    it('build: a secret over setSecret\'s limit (a full CA bundle) is left out and logged', async () => {
      const big = join(tmp, 'bundle.pem');
      writeFileSync(big, 'x'.repeat(SET_SECRET_LIMIT + 1));
      const logs: string[] = [];
      const mark = h.server.recorded.length;
      await engine.build({ context: apiDir, dockerfile: 'Dockerfile', target: 'runtime', buildArgs: {}, secrets: [{ id: 'ca', file: big }], tags: ['pier/example-api:big'], onLog: (l) => logs.push(l) });
      expect(step(since(mark).find((r) => step(r, 'dockerBuild')), 'dockerBuild')!.args.secrets).toEqual([]);
      expect(logs.join('\n')).toMatch(/build secret "ca" .* over setSecret's 128000 bytes: not passed/);
    });

    it('run: trivy on the image tarball (--input), DB in a cache volume, sidecar bindings, report read back with expect ANY', async () => {
      const mark = h.server.recorded.length;
      const r = await engine.run({
        image: 'aquasec/trivy:0.58.1',
        command: ['image', '--input', '/scan/image.tar', '--format', 'json', '--output', '/scan/report.json'],
        mounts: [
          { imageTarball: { ref: 'pier/example-api:0.1.0-contract-test' }, target: '/scan/image.tar' },
          { cache: 'trivy', target: '/cache' },
        ],
        sidecars: [{ name: 'postgres', image: 'postgres:16', env: { POSTGRES_PASSWORD: 'api' }, port: 5432 }],
        outputs: ['/scan/report.json'],
      });
      expect(r).toEqual({ exitCode: 0, stdout: '', stderr: '', files: { '/scan/report.json': TRIVY_REPORT } });
      const rec = since(mark);
      // The image is pulled (and checked) once before use.
      expect(rec[0]!.logical.map((s) => [s.field, s.args])).toEqual([['container', {}], ['from', { address: 'aquasec/trivy:0.58.1' }], ['sync', {}]]);
      const exec = rec.find((q) => q.logical.at(-1)?.field === 'exitCode')!;
      const chain = exec.logical;
      const withExec = step(exec, 'withExec')!.args;
      expect(withExec).toEqual({ args: ['image', '--input', '/scan/image.tar', '--format', 'json', '--output', '/scan/report.json'], expect: 'ANY', useEntrypoint: true });
      const tar = step(exec, 'withMountedFile')!.args;
      expect(tar.path).toBe('/scan/image.tar');
      expect(fields(h.server.origin(tar.source))).toEqual(['host', 'directory', 'dockerBuild', 'withLabel', 'withLabel', 'asTarball']);
      const cache = step(exec, 'withMountedCache')!.args;
      expect(cache).toMatchObject({ path: '/cache', sharing: 'LOCKED' });
      expect(h.server.origin(cache.cache)).toEqual([{ field: 'cacheVolume', parent: 'Query', args: { key: 'trivy' } }]);
      const bind = step(exec, 'withServiceBinding')!.args;
      expect(bind.alias).toBe('postgres');
      expect(h.server.origin(bind.service).map((s) => [s.field, s.args])).toEqual([
        ['container', {}],
        ['from', { address: 'postgres:16' }],
        ['withEnvVariable', { name: 'POSTGRES_PASSWORD', value: 'api' }],
        ['withExposedPort', { port: 5432 }],
        ['asService', { useEntrypoint: true }],
      ]);
      expect(chain.filter((s) => s.field === 'withEnvVariable').map((s) => s.args)).toContainEqual({ name: 'PIER_RUN', value: 'contract-engine' });
      const read = rec.filter((q) => q.logical.at(-1)?.field === 'contents');
      expect(read.map((q) => q.logical.at(-2)!.args)).toEqual([{ path: '/scan/report.json' }]);
    });

    it('run: a secret env var goes through setSecret + withSecretVariable, never withEnvVariable', async () => {
      const mark = h.server.recorded.length;
      await engine.run({ image: 'pier/example-api:0.1.0-contract-test', command: ['node', '-e', '1'], secretEnv: { API_TOKEN: 'tok-123' } });
      const exec = since(mark).find((q) => q.logical.at(-1)?.field === 'exitCode')!;
      const sv = step(exec, 'withSecretVariable')!.args;
      expect(sv.name).toBe('API_TOKEN');
      expect(h.server.origin(sv.secret)[0]).toMatchObject({ field: 'setSecret', args: { plaintext: 'tok-123' } });
      expect(JSON.stringify(exec.logical.filter((s) => s.field === 'withEnvVariable'))).not.toContain('tok-123');
    });

    it('serve: the image as a service tunnelled to the host; endpoint reachable; stop', async () => {
      const mark = h.server.recorded.length;
      const app = await engine.serve({ image: { ref: 'pier/example-api:0.1.0-contract-test' }, port: 3000, env: { NODE_ENV: 'production' }, sidecars: [{ name: 'redis', image: 'redis:7', env: {}, port: 6379 }] });
      expect(app.url).toBe(h.appUrl);
      expect((await get(`${app.url}/health`)).status).toBe(200);
      await app.stop();
      const rec = since(mark);
      const tunnel = step(rec.find((q) => step(q, 'tunnel')), 'tunnel')!.args;
      expect(tunnel.ports).toEqual([{ backend: 3000, frontend: 0 }]);
      const svc = h.server.origin(tunnel.service);
      expect(fields(svc).slice(-3)).toEqual(['withEnvVariable', 'withExposedPort', 'asService']);
      expect(svc.find((s) => s.field === 'withServiceBinding')?.args.alias).toBe('redis');
      expect(rec.filter((q) => q.logical.at(-1)?.field === 'stop').length).toBeGreaterThanOrEqual(1);
      expect(rec.find((q) => q.logical.at(-1)?.field === 'endpoint')!.logical.at(-1)!.args).toEqual({ scheme: 'http' });
    });

    it('serve: init (migrations) runs once next to the started sidecars before the app; a failing init fails serve', async () => {
      const mark = h.server.recorded.length;
      const app = await engine.serve({ image: { ref: 'pier/example-api:0.1.0-contract-test' }, port: 3000, init: ['node', 'src/migrate.js'], sidecars: [{ name: 'postgres', image: 'postgres:16', env: {}, port: 5432 }] });
      await app.stop();
      const rec = since(mark);
      const init = rec.find((q) => q.logical.at(-1)?.field === 'exitCode')!;
      expect(step(init, 'withExec')!.args).toEqual({ args: ['node', 'src/migrate.js'], expect: 'ANY', useEntrypoint: true });
      // The sidecar is started explicitly, and the init and the app bind that started instance.
      const started = rec.find((q) => q.logical.at(-1)?.field === 'start' && step(q, 'from')?.args.address === 'postgres:16');
      expect(started).toBeDefined();
      const bound = step(init, 'withServiceBinding')!.args.service;
      expect(fields(h.server.origin(bound)).slice(-2)).toEqual(['asService', 'start']);
      h.server.respond((steps) => (steps.at(-1)?.field === 'exitCode' && steps.some((s) => s.field === 'withExec' && (s.args.args as string[])[1] === 'fail.js') ? 7 : undefined));
      await expect(engine.serve({ image: { ref: 'pier/example-api:0.1.0-contract-test' }, port: 3000, init: ['node', 'fail.js'] })).rejects.toThrow(/node fail\.js exited 7 before the app started/);
    });

    it('exportTarball: asTarball exported to the host path', async () => {
      const mark = h.server.recorded.length;
      const out = join(tmp, 'image.tar');
      expect(await engine.exportTarball({ ref: 'pier/example-api:0.1.0-contract-test' }, out)).toBe(out);
      expect(fields(since(mark)[0]!.logical).slice(-2)).toEqual(['asTarball', 'export']);
      expect(since(mark)[0]!.logical.at(-1)!.args).toEqual({ path: out });
    });

    it('publish: withRegistryAuth on the registry host with a Secret, then publish; digest returned', async () => {
      const mark = h.server.recorded.length;
      const address = '127.0.0.1:5000/pier/example-api:0.1.0-contract';
      const pub = await engine.publish({ image: { ref: 'pier/example-api:0.1.0-contract-test' }, address, auth: { username: 'ci', password: 'pw-contract' } });
      expect(pub).toEqual({ ref: `${address}@${DIGEST}`, digest: DIGEST });
      const q = since(mark).find((r) => step(r, 'publish'))!;
      const auth = step(q, 'withRegistryAuth')!.args;
      expect(auth).toMatchObject({ address: '127.0.0.1:5000', username: 'ci' });
      expect(h.server.origin(auth.secret)[0]).toMatchObject({ field: 'setSecret', args: { plaintext: 'pw-contract' } });
      expect(step(q, 'publish')!.args).toEqual({ address });
    });

    it('engine errors map onto the interface: a failed build is BuildFailedError, an unpullable image ImageUnavailableError', async () => {
      h.server.respond((steps) => {
        if (steps.at(-1)?.field === 'sync' && steps.some((s) => s.field === 'dockerBuild' && s.args.target === 'broken')) {
          return new GraphQLFailure('process "/bin/sh -c npm ci" did not complete successfully: exit code: 1', { _type: 'EXEC_ERROR', exitCode: 1, stderr: 'npm ERR! missing lockfile' });
        }
        if (steps.at(-1)?.field === 'sync' && steps.some((s) => s.field === 'from' && s.args.address === 'nope/missing:1')) {
          return new GraphQLFailure('failed to resolve source metadata for docker.io/nope/missing:1: pull access denied');
        }
        return undefined;
      });
      const build = engine.build({ context: apiDir, dockerfile: 'Dockerfile', target: 'broken', buildArgs: {}, secrets: [], tags: ['pier/example-api:broken'] });
      await expect(build).rejects.toBeInstanceOf(BuildFailedError);
      await expect(build).rejects.toThrow(/dagger dockerBuild --target broken failed: process "\/bin\/sh -c npm ci" did not complete successfully/);
      const run = engine.run({ image: 'nope/missing:1', command: ['true'] });
      await expect(run).rejects.toBeInstanceOf(ImageUnavailableError);
      await expect(run).rejects.toThrow(/image nope\/missing:1 is not available: .*pull access denied/);
    });

    it('an image the engine never built is a clear error, not a query', async () => {
      await expect(engine.exportTarball({ ref: 'nope:1' }, join(tmp, 'x.tar'))).rejects.toThrow(/nope:1 was not built by this Dagger engine/);
    });
  });

  describe('pipeline runner on the Dagger engine (CLI path)', () => {
    it('runs build, test, scan, loadtest and publish; the report says engine dagger', async () => {
      const mark = h.server.recorded.length;
      const config = loadConfig({ cwd: repoRoot });
      config.pipeline.loadtest = { ...config.pipeline.loadtest, durationSeconds: 1, warmupSeconds: 0, slo: { p95Ms: 60_000, p99Ms: 60_000, maxErrorRate: 0.01, minRps: 0 } };
      const engine = await openDaggerEngine({ runId: 'contract-pipeline' });
      const runDir = join(tmp, 'run');
      mkdirSync(runDir, { recursive: true });
      try {
        const report = await runPipeline({ config, engine, runDir, selection: selectStages(), progress: createProgress(process.stderr, { quiet: true }), options: { caFile: '' } });
        expect(report.engine).toBe('dagger');
        expect(report.stages.map((s) => [s.name, s.status, s.reason])).toEqual([
          ['build', 'passed', undefined],
          ['test', 'passed', undefined],
          ['scan', 'passed', undefined],
          ['loadtest', 'passed', undefined],
          ['publish', 'passed', undefined],
        ]);
        expect(report.stages[1]!.figures).toMatchObject({ tests: 2, pass: 2, fail: 0, exitCode: 0 });
        expect(report.stages[2]!.figures).toMatchObject({ findings: expect.objectContaining({ LOW: 1 }), failing: 0 });
        expect(report.stages[3]!.figures.requests).toBeGreaterThan(0);
        expect(report.stages[4]!.figures).toMatchObject({ digest: DIGEST });
      } finally {
        await engine.close();
      }
      const rec = since(mark);
      const targets = rec.map((q) => step(q, 'dockerBuild')?.args.target).filter(Boolean);
      expect(new Set(targets)).toEqual(new Set(['runtime', 'test']));
      const testExec = rec.find((q) => step(q, 'withExec')?.args.args && (step(q, 'withExec')!.args.args as string[]).join(' ') === 'npm test')!;
      expect(testExec.logical.filter((s) => s.field === 'withServiceBinding').map((s) => s.args.alias)).toEqual(['postgres', 'redis']);
      expect(rec.some((q) => step(q, 'withExec') && (step(q, 'withExec')!.args.args as string[]).includes('--input'))).toBe(true);
      expect(rec.some((q) => step(q, 'publish'))).toBe(true);
    });
  });

  describe('pier ci --engine (CLI process)', () => {
    const runCli = (args: string[], env: Record<string, string | undefined>) => runPier(args, { env });

    it('--engine auto inside a Dagger session runs the stages on Dagger; the report records it', async () => {
      const mark = h.server.recorded.length;
      const r = await runCli(['ci', '--engine', 'auto', '--skip', 'loadtest', '--json', '--quiet'], h.server.env());
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout);
      expect(report.engine).toBe('dagger');
      expect(report.stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['build:passed', 'test:passed', 'scan:passed', 'loadtest:skipped', 'publish:passed']);
      expect(since(mark).some((q) => step(q, 'dockerBuild'))).toBe(true);
      rmSync(join(repoRoot, '.pier', 'runs', report.runId), { recursive: true, force: true });
    });

    it('--engine dagger without a session or CLI exits 3 with the reason', async () => {
      const r = await runCli(['ci', '--engine', 'dagger', '--quiet'], { DAGGER_SESSION_PORT: '', DAGGER_SESSION_TOKEN: '', PATH: dirname(process.execPath) });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/no Dagger session \(DAGGER_SESSION_PORT unset\) and no `dagger` CLI on PATH/);
      expect(r.stderr).not.toMatch(/UnhandledPromiseRejection|at .*\.ts:\d+/);
    });
  });

  describe('module functions', () => {
    let Pier: new () => PierModule;
    const source = () => dag.host().directory(repoRoot, { exclude: ['**/node_modules', '.git', '.pier', '.env', 'dagger/sdk'] });
    /** Call a module function inside a connection, as the module runtime does. */
    async function call<T>(fn: (p: PierModule) => Promise<T>): Promise<T> {
      let out: T | undefined;
      await connection(async () => {
        out = await fn(new Pier());
      });
      return out as T;
    }
    beforeAll(async () => {
      ({ Pier } = await import(modulePath));
    });

    it('build returns the runtime Container (publish / as-service chain on it)', async () => {
      const mark = h.server.recorded.length;
      const ctr = await call((p) => p.build(source()));
      expect(ctr.constructor.name).toBe('Container');
      const rec = since(mark);
      // pier.yaml and the app's package.json are read from the source Directory, not the host fs.
      const reads = rec.filter((q) => q.logical.at(-1)?.field === 'contents').map((q) => q.logical.at(-2)?.args.path);
      expect(reads).toEqual(expect.arrayContaining(['pier.yaml', 'examples/api/package.json']));
      const build = rec.find((q) => step(q, 'dockerBuild'))!;
      // pier's own files (.env, .pier/) are filtered out of the build context whatever .dockerignore says.
      expect(fields(build.logical).slice(0, 5)).toEqual(['host', 'directory', 'directory', 'filter', 'dockerBuild']);
      expect(build.logical[2]!.args).toEqual({ path: 'examples/api' });
      expect(build.logical[3]!.args).toMatchObject({ exclude: expect.arrayContaining(['.env', '.pier']) });
      expect(step(build, 'dockerBuild')!.args).toMatchObject({ target: 'runtime', dockerfile: 'Dockerfile', secrets: [] });
      // The returned Container is chainable like `dagger call build publish --address=...`.
      const ref = await connection(async () => void (await ctr.publish('ttl.sh/pier-contract:1h')));
      expect(ref).toBeUndefined();
      expect(h.server.ending('publish').at(-1)!.logical.at(-1)!.args).toEqual({ address: 'ttl.sh/pier-contract:1h' });
    });

    it('serve returns the app as a Service: sidecars bound, pipeline env, migration before the image command', async () => {
      const svc = await call((p) => p.serve(source()));
      let id = '';
      await connection(async () => {
        id = await svc.id();
      });
      const chain = h.server.origin(id);
      expect(chain.filter((s) => s.field === 'withServiceBinding').map((s) => s.args.alias)).toEqual(['postgres', 'redis']);
      expect(chain.filter((s) => s.field === 'withEnvVariable').map((s) => s.args)).toContainEqual({ name: 'PORT', value: '3000' });
      expect(chain.find((s) => s.field === 'withExposedPort')?.args).toEqual({ port: 3000 });
      expect(chain.at(-1)).toMatchObject({ field: 'asService', args: { args: ['sh', '-c', 'node src/migrate.js && exec "$@"', 'pier-serve'], useEntrypoint: true } });
    });

    it('test runs the test target next to its sidecars', async () => {
      const text = await call((p) => p.test(source()));
      expect(text).toMatch(/✓ test\s+passed.*2 tests, 2 passed, 0 failed/);
    });

    it('scan runs pinned trivy on the tarball and applies the policy', async () => {
      const mark = h.server.recorded.length;
      const text = await call((p) => p.scan(source()));
      expect(text).toMatch(/✓ scan\s+passed.*LOW 1/);
      const exec = since(mark).find((q) => (step(q, 'withExec')?.args.args as string[] | undefined)?.includes('--input'))!;
      expect(exec.logical.slice(0, 2).map((s) => s.args)).toEqual([{}, { address: 'aquasec/trivy:0.58.1' }]);
    });

    it('loadTest serves the image as a service (started, endpoint used directly) and gates on SLOs', async () => {
      const mark = h.server.recorded.length;
      const text = await call((p) => p.loadTest(source()));
      expect(text).toMatch(/✓ loadtest\s+passed\s.*req\/s/);
      const rec = since(mark);
      expect(rec.some((q) => step(q, 'tunnel'))).toBe(false);
      expect(rec.some((q) => q.logical.at(-1)?.field === 'start')).toBe(true);
      expect(rec.find((q) => q.logical.at(-1)?.field === 'endpoint')!.logical.at(-1)!.args).toEqual({ port: 3000, scheme: 'http' });
    });

    it('publish takes the registry password as a Secret and returns ref@digest; the password is not in the output', async () => {
      const mark = h.server.recorded.length;
      const out = await call((p) => p.publish(source(), 'registry.example.com', 'ci', dag.setSecret('registry-pw', 's3cret-pw')));
      expect(out).toBe(`registry.example.com/pier/example-api:1.0.0-nogit@${DIGEST}`);
      const q = since(mark).find((r) => step(r, 'withRegistryAuth'))!;
      expect(step(q, 'withRegistryAuth')!.args).toMatchObject({ address: 'registry.example.com', username: 'ci' });
      // The caller's Secret itself is used: the plaintext is not sent back through another setSecret.
      expect(h.server.origin(step(q, 'withRegistryAuth')!.args.secret)).toEqual([{ field: 'setSecret', parent: 'Query', args: { name: 'registry-pw', plaintext: 's3cret-pw' } }]);
      expect(since(mark).filter((r) => r.steps[0]?.field === 'setSecret' && r.steps[0].args.name !== 'registry-pw')).toEqual([]);
      expect(out).not.toContain('s3cret');
    });

    it('ci runs every stage and returns the JSON report (engine dagger, secrets redacted)', async () => {
      const json = await call((p) => p.ci(source(), [], 'registry.example.com', 'ci', dag.setSecret('registry-pw', 's3cret-pw')));
      const report = JSON.parse(json);
      expect(report.engine).toBe('dagger');
      expect(report.stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['build:passed', 'test:passed', 'scan:passed', 'loadtest:passed', 'publish:passed']);
      expect(json).not.toContain('s3cret');
    });

    it('a gate that says no fails the call with the summary: a CRITICAL finding, failing tests', async () => {
      let mode: 'critical' | 'tests' | undefined = 'critical';
      h.server.respond((steps) => {
        const last = steps.at(-1)!;
        if (mode === 'critical' && last.field === 'contents' && steps.at(-2)?.args.path === '/scan/report.json') {
          return JSON.stringify({ SchemaVersion: 2, Results: [{ Target: 'app', Vulnerabilities: [{ VulnerabilityID: 'CVE-2024-9999', PkgName: 'openssl', InstalledVersion: '3.0.0', FixedVersion: '3.0.1', Severity: 'CRITICAL' }] }] });
        }
        if (mode === 'tests' && last.field === 'exitCode' && steps.some((s) => s.field === 'withExec' && (s.args.args as string[]).join(' ') === 'npm test')) return 1;
        return undefined;
      });
      try {
        await expect(call((p) => p.scan(source()))).rejects.toThrow(/pier: failed \(exit 1\)[\s\S]*✗ scan\s+failed[\s\S]*CVE-2024-9999 \(CRITICAL, openssl\)/);
        mode = 'tests';
        await expect(call((p) => p.ci(source(), ['publish']))).rejects.toThrow(/✗ test\s+failed[\s\S]*npm test exited 1[\s\S]*- scan\s+skipped/);
      } finally {
        mode = undefined;
      }
    });

    it('without --address the default loopback registry is not used from inside the engine', async () => {
      const report = JSON.parse(await call((p) => p.ci(source(), ['loadtest'])));
      expect(report.stages.at(-1)).toMatchObject({ name: 'publish', status: 'skipped', reason: expect.stringContaining('registry 127.0.0.1:5000 is a loopback address') });
      await expect(call((p) => p.publish(source()))).rejects.toThrow(/publish: registry 127\.0\.0\.1:5000 is a loopback address.*--address=/);
    });

    it('ci --skip leaves stages out; an unknown stage is a usage error', async () => {
      const report = JSON.parse(await call((p) => p.ci(source(), ['loadtest', 'publish'])));
      expect(report.stages.map((s: { status: string }) => s.status)).toEqual(['passed', 'passed', 'passed', 'skipped', 'skipped']);
      await expect(call((p) => p.ci(source(), ['deploy']))).rejects.toThrow(/--skip: unknown stage "deploy"/);
    });

    it('from another repository (dagger -m <pier> call ci --source .): the Go fixture app\'s own pier.yaml and Dockerfile decide the build', async () => {
      // The user's repository: the Go app, configured by pier init (no package.json, stages builder + release).
      const dir = mkdtempSync(join(tmpdir(), 'pier-dagger-go-'));
      cpSync(join(repoRoot, 'test', 'fixtures', 'apps', 'go-stdlib'), dir, { recursive: true });
      await runInit(dir, { probe: false });
      const userSource = () => dag.host().directory(dir, { exclude: ['**/node_modules', '.git', '.pier', '.env'] });
      try {
        const mark = h.server.recorded.length;
        const ctr = await call((p) => p.build(userSource()));
        expect(ctr.constructor.name).toBe('Container');
        const rec = since(mark);
        const reads = rec.filter((q) => q.logical.at(-1)?.field === 'contents').map((q) => q.logical.at(-2)?.args.path);
        expect(reads).toEqual(expect.arrayContaining(['pier.yaml', 'Dockerfile']));
        expect(reads).not.toContain('examples/api/package.json');
        const build = rec.find((q) => step(q, 'dockerBuild'))!;
        // The context is the user's directory itself (app.context "."), not pier's repository.
        expect(fields(build.logical).slice(0, 4)).toEqual(['host', 'directory', 'filter', 'dockerBuild']);
        // A Go app has no package.json: the version falls back (0.0.0; no .git in the source).
        expect(build.logical.find((x) => x.field === 'withLabel' && x.args.name === 'org.opencontainers.image.version')?.args.value).toBe('0.0.0-nogit');
        expect(build.logical[1]!.args.path).toBe(dir);
        expect(step(build, 'dockerBuild')!.args).toMatchObject({ target: 'release', dockerfile: 'Dockerfile', buildArgs: [{ name: 'BASE_IMAGE', value: expect.stringMatching(/debian:bookworm$/) }] });
        // The tests run in the toolchain stage pier init picked, with go test.
        const mark2 = h.server.recorded.length;
        await call((p) => p.test(userSource())).catch(() => undefined);
        const testBuild = since(mark2).filter((q) => step(q, 'dockerBuild')).map((q) => step(q, 'dockerBuild')!.args.target);
        expect(testBuild).toContain('builder');
        const execs = since(mark2).flatMap((q) => q.logical.filter((st) => st.field === 'withExec').map((st) => st.args.args));
        expect(execs).toContainEqual(['go', 'test', '-v', './...']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('module runtime: the SDK\'s own entrypoint registers the module and dispatches calls', () => {
    // What the engine does for `dagger call`: run the generated entrypoint, which scans dagger/src,
    // registers the typedefs (parentName "") or invokes one function and returns its value.
    interface Scenario {
      parentName: string;
      fnName?: string;
      args?: { name: string; value: string }[];
      returned: string[];
      errors: string[];
    }
    const scenarios = new Map<string, Scenario>();
    const tsxCli = join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const child = join(repoRoot, 'test', 'dagger', 'entrypoint-child.ts');
    /** One module runtime process per call, each on its own session token (they run concurrently). */
    async function runEntrypoint(name: string, s: Omit<Scenario, 'returned' | 'errors'>) {
      const scenario: Scenario = { ...s, returned: [], errors: [] };
      scenarios.set(name, scenario);
      const r = await exec([process.execPath, tsxCli, '--tsconfig', join(repoRoot, 'dagger', 'tsconfig.json'), child], { cwd: join(repoRoot, 'dagger'), env: { ...process.env, ...h.server.session(name) }, nothrow: true, timeoutMs: 180_000 });
      return { ...r, scenario, recorded: h.server.recorded.filter((q) => q.session === name) };
    }
    type Run = Awaited<ReturnType<typeof runEntrypoint>>;
    const runs: Record<string, Promise<Run>> = {};
    let sourceId = '';

    beforeAll(async () => {
      h.server.respond((steps, _type, session) => {
        const scenario = scenarios.get(session);
        if (!scenario) return undefined;
        const first = steps[0];
        const last = steps.at(-1)!;
        if (first?.field === 'currentModule' && last.field === 'name') return 'pier';
        if (first?.field === 'currentFunctionCall') {
          if (steps[1]?.field === 'inputArgs') return (scenario.args ?? []).map((_, i) => `pier-arg-${i}`);
          if (last.field === 'parentName') return scenario.parentName;
          if (last.field === 'name') return scenario.fnName ?? '';
          if (last.field === 'parent') return '{}';
          if (last.field === 'returnValue') return scenario.returned.push(String(last.args.value)), null;
          if (last.field === 'returnError') return scenario.errors.push(String(h.server.origin(last.args.error)[0]?.args.message)), null;
        }
        if (first?.field === 'node' && String(first.args.id).startsWith('pier-arg-')) {
          const a = scenario.args![Number(String(first.args.id).slice('pier-arg-'.length))]!;
          if (last.field === 'name') return a.name;
          if (last.field === 'value') return a.value;
        }
        return undefined;
      });
      // The `source` argument as the CLI would pass it: a host directory with the module's ignore list.
      await connection(async () => {
        sourceId = await dag.host().directory(repoRoot, { exclude: ['**/node_modules', '.git', '.pier', '.env', 'dagger/sdk'] }).id();
      });
      const source = { name: 'source', value: JSON.stringify(sourceId) };
      runs.register = runEntrypoint('register', { parentName: '' });
      runs.ci = runEntrypoint('ci', { parentName: 'Pier', fnName: 'ci', args: [source, { name: 'skip', value: '["publish"]' }] });
      runs.build = runEntrypoint('build', { parentName: 'Pier', fnName: 'build', args: [source] });
      runs.fail = runEntrypoint('fail', { parentName: 'Pier', fnName: 'ci', args: [source, { name: 'skip', value: '["deploy"]' }] });
      await Promise.all(Object.values(runs));
    }, 300_000);

    it('registration: the object, its seven functions, source defaultPath/ignore, cache "never" on ci/publish/loadTest', async () => {
      const r = await runs.register!;
      expect(r.code, r.stderr).toBe(0);
      expect(r.scenario.errors).toEqual([]);
      expect(r.scenario.returned).toHaveLength(1);
      const rec = r.recorded;
      const steps = rec.flatMap((q) => q.steps);
      expect(steps.filter((s) => s.field === 'withObject').map((s) => s.args.name)).toContain('Pier');
      const fns = steps.filter((s) => s.field === 'function').map((s) => s.args.name);
      // One function per registered stage (generated from the registry), plus serve and ci.
      expect(new Set(fns)).toEqual(new Set(['build', 'serve', 'test', 'scan', 'loadTest', 'publish', 'ci']));
      expect(new Set(fns)).toEqual(new Set([...STAGES.map((s) => s.dagger.name), 'serve', 'ci']));
      const sourceArgs = steps.filter((s) => s.field === 'withArg' && s.args.name === 'source');
      expect(sourceArgs).toHaveLength(STAGES.length + 2);
      for (const a of sourceArgs) expect(a.args).toMatchObject({ defaultPath: '/', ignore: ['**/node_modules', '.git', '.pier', '.env', 'dagger/sdk'] });
      expect(steps.find((s) => s.field === 'withArg' && s.args.name === 'password')?.args).toMatchObject({ name: 'password' });
      // Each function's chain: function(name) ... withCachePolicy(Never) for the three uncached ones.
      const never = rec.filter((q) => q.steps.some((s) => s.field === 'withCachePolicy' && s.args.policy === 'Never')).map((q) => q.steps.find((s) => s.field === 'function')?.args.name);
      expect(new Set(never)).toEqual(new Set(['ci', 'publish', 'loadTest']));
      expect(new Set(never)).toEqual(new Set(['ci', ...STAGES.filter((s) => s.dagger.uncached).map((s) => s.dagger.name)]));
      const descriptions = steps.filter((s) => s.field === 'withDescription').map((s) => String(s.args.description));
      for (const fn of ['ci', 'build publish --address', 'build as-service up --ports=8080:3000', 'serve up --ports=8080:3000', 'test', 'scan', 'load-test', 'publish --address']) {
        expect(descriptions.some((d) => d.includes(`Example: dagger call ${fn}`)), fn).toBe(true);
      }
    });

    it('invocation: `dagger call ci --skip=publish` runs the stages and returns the report', async () => {
      const r = await runs.ci!;
      expect(r.scenario.errors.join('\n')).toBe('');
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(JSON.parse(r.scenario.returned[0]!));
      expect(report.engine).toBe('dagger');
      expect(report.stages.map((s: { status: string }) => s.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'skipped']);
    });

    it('invocation: `dagger call build` returns the runtime Container by id', async () => {
      const r = await runs.build!;
      expect(r.code, r.stderr).toBe(0);
      const id = JSON.parse(r.scenario.returned[0]!);
      expect(h.server.origin(id).find((s) => s.field === 'dockerBuild')?.args).toMatchObject({ target: 'runtime' });
    });

    it('invocation: a failure is returned to the engine as an error (exit 1), not an unhandled rejection', async () => {
      const r = await runs.fail!;
      expect(r.code).toBe(1);
      expect(r.scenario.errors).toEqual([expect.stringContaining('--skip: unknown stage "deploy"')]);
      expect(r.stderr).not.toMatch(/UnhandledPromiseRejection/);
    });
  });

  describe('connection failures', () => {
    it('no session and no dagger CLI: exit 3 with the reason, nothing downloaded', async () => {
      const err = await openDaggerEngine({ env: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as EnvironmentError).exitCode).toBe(ExitCode.environment);
      expect((err as Error).message).toMatch(/no Dagger session \(DAGGER_SESSION_PORT unset\) and no `dagger` CLI on PATH/);
    });
    it('a session port nobody listens on: exit 3, not an unhandled rejection', async () => {
      const saved = process.env.DAGGER_SESSION_PORT;
      const err = await openDaggerEngine({ env: { DAGGER_SESSION_PORT: '1', DAGGER_SESSION_TOKEN: 't' } }).catch((e: unknown) => e);
      process.env.DAGGER_SESSION_PORT = saved;
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toMatch(/cannot connect to the Dagger engine \(127\.0\.0\.1:1\)/);
    });
  });

  it('every recorded query is valid against schema v0.21.8', () => {
    expect(h.server.recorded.length).toBeGreaterThan(50);
    expect(h.server.invalid().map((r) => `${r.query.trim()}\n  ${r.errors.join('\n  ')}`)).toEqual([]);
  });
});
