/**
 * What the Dagger module's functions do (the functions themselves, in ./index.ts, are generated
 * from the stage registry by dagger/vendor.ts and each call one of these): run pier's stages through
 * the CLI's runner on the Dagger implementation of the Engine interface.
 *
 * The stage code is the CLI's own (src/, vendored under ./pier by dagger/vendor.ts because the
 * module runtime only sees this directory). The repository arrives as the `source` Directory;
 * the few files the stages read locally (pier.yaml, the app's Dockerfile and version manifests, the ignore file) are
 * materialised into a temporary root that maps back onto `source` for everything the engine does.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dag, type Container, type Directory, type Secret, type Service } from '@dagger.io/dagger';
import { loadConfig } from './pier/config/load.ts';
import type { Config } from './pier/config/schema.ts';
import { DaggerEngine } from './pier/engine/dagger.ts';
import { createProgress } from './pier/pipeline/progress.ts';
import { summary, writeReport, type RunReport, type StageName } from './pier/pipeline/report.ts';
import { runPipeline, selectStages, type Selection } from './pier/pipeline/runner.ts';
import { sidecars } from './pier/pipeline/stages/test.ts';
import { registerSecret } from './pier/util/redact.ts';
import { isLoopbackRegistry, serveArgs } from './serve.ts';

/** Env var the registry password is handed to the publish stage through (never printed). */
const PASSWORD_ENV = 'PIER_REGISTRY_PASSWORD';

export interface RegistryArgs {
  address?: string;
  username?: string;
  password?: Secret;
}

/** Copy `paths` (when present) from the source Directory into the local root. */
export async function materialise(source: Directory, root: string, paths: string[]): Promise<void> {
  for (const p of paths) {
    if (!(await source.exists(p))) continue;
    const to = join(root, p);
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, await source.file(p).contents());
  }
}

/** The config with the registry overridden by function arguments (pure apart from the env handoff). */
export async function withRegistry(config: Config, reg: RegistryArgs, known?: Map<string, Secret>): Promise<Config> {
  const r = { ...config.pipeline.registry };
  if (reg.address) r.address = reg.address;
  // Inside an engine, 127.0.0.1 is the engine's own host: no local registry is started from here.
  r.startLocal = false;
  if (reg.username) r.username = reg.username;
  if (reg.password) {
    const plaintext = await reg.password.plaintext();
    registerSecret(plaintext);
    known?.set(plaintext, reg.password);
    process.env[PASSWORD_ENV] = plaintext;
    r.passwordEnv = PASSWORD_ENV;
    r.passwordFile = undefined;
  }
  return { ...config, pipeline: { ...config.pipeline, registry: r } };
}

export interface StagesResult {
  config: Config;
  report: RunReport;
  text: string;
  engine: DaggerEngine;
}

/**
 * The default registry (127.0.0.1:5000) cannot be reached from inside an engine: `ci` then skips
 * publish with the reason; `publish` alone says what to pass instead.
 */
export function publishSelection(sel: Selection, address: string): Selection {
  if (!sel.run.includes('publish') || !isLoopbackRegistry(address)) return sel;
  const why = `registry ${address} is a loopback address, which inside a Dagger engine is the engine itself: pass --address=<registry host>`;
  if (sel.run.at(-1) === 'publish' && sel.run.length <= 2) throw new Error(`publish: ${why}`);
  return { run: sel.run.filter((n) => n !== 'publish'), skipped: { ...sel.skipped, publish: `skipped: ${why}` } };
}

/** Run pier's stages (the CLI's runner) on the Dagger engine; throws with the summary when a stage fails. */
export async function runStages(source: Directory, pick: { only?: StageName[]; skip?: string[] }, reg: RegistryArgs = {}): Promise<StagesResult> {
  const root = mkdtempSync(join(tmpdir(), 'pier-src-'));
  await materialise(source, root, ['pier.yaml']);
  let config = loadConfig({ cwd: root, vars: { ...process.env } });
  // What the stages read locally: the Dockerfile (its stages decide the targets), the version
  // manifests (package.json, pyproject.toml; a Go or Java app has neither), the ignore policy.
  const ctx = config.app.context;
  await materialise(source, root, [join(ctx, config.app.dockerfile), join(ctx, 'package.json'), join(ctx, 'pyproject.toml'), config.pipeline.scan.ignoreFile]);
  const knownSecrets = new Map<string, Secret>();
  config = await withRegistry(config, reg, knownSecrets);
  const selection = publishSelection(selectStages(pick.only, pick.skip), config.pipeline.registry.address);
  const engine = new DaggerEngine({ client: dag, source: { root, dir: source }, reach: 'direct', knownSecrets });
  const runDir = join(root, '.pier', 'runs', engine.runId);
  mkdirSync(runDir, { recursive: true });
  try {
    const report = await runPipeline({
      config,
      engine,
      runDir,
      selection,
      progress: createProgress(process.stderr, {}),
      // An empty caFile: no host CA bundle is passed to builds; the engine applies its own CA config.
      options: { caFile: '' },
    });
    const text = summary(report, writeReport(runDir, report));
    if (report.exitCode !== 0) throw new Error(`pier: ${report.status} (exit ${report.exitCode})\n${text}`);
    return { config, report, text, engine };
  } finally {
    await engine.close();
  }
}

/** The container a run built for its runtime target. */
export function runtimeOf(r: StagesResult): Container {
  const ref = r.report.stages.find((s) => s.name === 'build')?.figures.image;
  if (typeof ref !== 'string') throw new Error(`pier: the build stage reported no image\n${r.text}`);
  return r.engine.container({ ref });
}

/** The `image` figure a stage reported (publish: `ref@sha256:digest`). */
export function imageOf(r: StagesResult, stage: StageName): string {
  return String(r.report.stages.find((s) => s.name === stage)?.figures.image);
}

/**
 * The runtime image as a Service with its sidecars (PostgreSQL, Redis) bound, the pipeline env set
 * and the migration run before the app starts.
 */
export async function serveApp(source: Directory): Promise<Service> {
  const r = await runStages(source, { only: ['build'] });
  const { app } = r.config;
  let ctr = runtimeOf(r);
  for (const s of sidecars(app)) ctr = ctr.withServiceBinding(s.name, r.engine.sidecar(s));
  const env = { ...app.env, PORT: String(app.port), APP_VERSION: String(r.report.stages[0]?.figures.version ?? 'dev') };
  for (const [k, v] of Object.entries(env)) ctr = ctr.withEnvVariable(k, v);
  const args = serveArgs(app.migrate?.command, await ctr.defaultArgs());
  return ctr.withExposedPort(app.port).asService({ args, useEntrypoint: true });
}

/** Every stage but `skip`; the JSON run report. */
export async function ciReport(source: Directory, skip: string[], reg: RegistryArgs): Promise<string> {
  const r = await runStages(source, { skip }, reg);
  return JSON.stringify(r.report, null, 2);
}
