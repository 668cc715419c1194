/**
 * From a Detection to the files `pier init` proposes (pure): pier.yaml, the three environment
 * overlays, their *.env.example files, a compose file (or a compose override adding pier's labels
 * and image stand-ins to the user's own), and the .gitignore / .dockerignore lines. Writing, and
 * never overwriting, is write.ts's job.
 */
import { stringify } from 'yaml';
import { GENERATED_COMPOSE_MARK, GENERATED_COMPOSE_PREFIX, type Detection } from './detect.ts';

export interface PlannedFile {
  path: string;
  /** Whole file (create) or lines to add when missing (append). */
  kind: 'create' | 'append';
  content: string;
  /** Why it is written, for the summary. */
  why: string;
}

export interface RenderOptions {
  /** Directory of pier's JSON schemas relative to the repo root (for the editor hint), if any. */
  schemaDir?: string;
  /** Health path confirmed by probing the built image (wins over the static guess). */
  healthPath?: string;
}

/** The compose file init writes when the repo has none. */
export const GENERATED_COMPOSE = 'compose.yaml';
/** The override init writes next to a user's compose file (labels, stand-ins); theirs is untouched. */
export const COMPOSE_OVERRIDE = 'compose.pier.yaml';

const yaml = (v: unknown) => stringify(v, { lineWidth: 0 }).trimEnd();

function header(schema: string | undefined, lines: string[]): string {
  return [...(schema ? [`# yaml-language-server: $schema=${schema}`] : []), ...lines.map((l) => `# ${l}`)].join('\n');
}

/** The app section as data (validated by the caller through pier's own schema). */
export function appSection(d: Detection, opts: RenderOptions = {}): Record<string, unknown> {
  const targets: Record<string, string> = {};
  if (d.targets.runtime) targets.runtime = d.targets.runtime.value;
  if (d.targets.test) targets.test = d.targets.test.value;
  const app: Record<string, unknown> = {
    name: d.name.value,
    image: d.name.value,
    context: '.',
    dockerfile: d.dockerfile ?? 'Dockerfile',
    ...(Object.keys(targets).length ? { targets } : {}),
    ...(Object.keys(d.buildArgs).length ? { buildArgs: d.buildArgs } : {}),
    port: d.port.value,
    health: { path: opts.healthPath ?? d.health.value, timeoutSeconds: 60 },
    test: { command: d.test?.value ?? ['true'] },
    ...(Object.keys(d.appEnv).length ? { env: d.appEnv } : {}),
  };
  if (Object.keys(d.services).length) {
    app.services = Object.fromEntries(Object.entries(d.services).map(([k, s]) => [k, { image: s.image, port: s.port, ...(Object.keys(s.env).length ? { env: s.env } : {}), ...(s.healthcheck ? { healthcheck: s.healthcheck } : {}) }]));
  }
  if (d.state.onDisk && d.state.dirs.length) app.volumes = d.state.dirs.map((dir, i) => ({ source: i === 0 ? 'data' : `data${i + 1}`, target: dir }));
  return app;
}

export function pierYaml(d: Detection, opts: RenderOptions = {}): string {
  const health = opts.healthPath ?? d.health.value;
  const pipeline = {
    loadtest: { path: health, connections: 10, durationSeconds: 10, rate: 100, warmupSeconds: 2, slo: { p95Ms: 250, p99Ms: 500, maxErrorRate: 0.01 } },
    registry: { address: '127.0.0.1:5000', startLocal: true },
  };
  return [
    header(opts.schemaDir && `${opts.schemaDir}/pier.schema.json`, [
      `pier.yaml for ${d.name.value}, written by pier init: check every value, then commit it.`,
      'Every key: docs/configuration.md in pier\'s package; validate with: npx pier config',
    ]),
    yaml({ app: appSection(d, opts) }),
    '',
    '# The load test hits the health path until you point it at a real endpoint of your app.',
    yaml({ pipeline }),
    '',
  ].join('\n');
}

export function envYamls(d: Detection, composeFiles: string[], opts: RenderOptions = {}): Record<string, string> {
  const schema = opts.schemaDir && `../${opts.schemaDir}/environment.schema.json`;
  const hosts = (base: number) => [
    { name: 'web1', address: `192.0.2.${base}`, user: 'deploy' },
    { name: 'web2', address: `192.0.2.${base + 1}`, user: 'deploy' },
  ];
  const remote = (env: string, base: number) =>
    [
      header(schema, [`${env}: hosts reached over SSH, each with its own nginx proxy. Replace the example hosts.`]),
      yaml({
        description: `${env} hosts for ${d.name.value}`,
        envFile: `environments/${env}.env`,
        hosts: hosts(base),
        ssh: { keyFile: '~/.ssh/id_ed25519', knownHosts: '~/.ssh/known_hosts' },
        deploy: { strategy: 'rolling', batch: 1, keepReleases: 3, healthTimeoutSeconds: 60, bakeSeconds: 10, maxErrorRate: 0.05 },
      }),
      ...(d.state.onDisk
        ? ['# This app keeps state on local disk: with two hosts behind a load balancer each host has its own copy.', '# Use one host, or move the state to a database both hosts reach (see "State on local disk" in pier\'s docs).']
        : []),
      '',
    ].join('\n');
  return {
    'environments/dev.yaml': [
      header(schema, ['Developer stack on a laptop: pier env up dev (compose project <app>-dev).']),
      yaml({ description: `${d.name.value} on a laptop`, compose: composeFiles, envFile: 'environments/dev.env' }),
      '',
    ].join('\n'),
    'environments/staging.yaml': remote('staging', 20),
    'environments/production.yaml': remote('production', 10),
  };
}

/** `KEY=` lines for the variables the app reads, secrets blank, known values filled in. */
export function envExample(d: Detection, env: string): string {
  const vars = new Set([...d.envVars, ...Object.keys(d.appEnv)]);
  vars.delete('APP_VERSION'); // pier sets it on every release
  vars.delete('PORT'); // pier sets it from app.port
  const lines = [`# Runtime environment of ${d.name.value} in ${env}. Copy to environments/${env}.env (git-ignored) and fill in.`];
  for (const v of [...vars].sort()) {
    const secret = /PASSWORD|SECRET|TOKEN|KEY|URL/i.test(v);
    const value = !secret || env === 'dev' ? (d.appEnv[v] ?? '') : '';
    lines.push(`${v}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

const LABELS_NOTE = 'pier.app lets pier env down refuse to touch another app; pier.run/pier.pid let pier reap find leftovers.';

/** A dev compose file for a repo that has none. */
export function composeFile(d: Detection, opts: RenderOptions = {}): string {
  const app = d.name.value;
  const build: Record<string, unknown> = { context: '.', dockerfile: d.dockerfile ?? 'Dockerfile' };
  if (d.targets.runtime) build.target = d.targets.runtime.value;
  if (Object.keys(d.buildArgs).length) build.args = d.buildArgs;
  if (d.usesCaSecret) build.secrets = ['ca'];
  const labels = { 'pier.app': app, 'pier.run': '${PIER_RUN:-dev}', 'pier.pid': '${PIER_PID:-0}' };
  const volumes = d.state.onDisk ? d.state.dirs.map((dir, i) => `${i === 0 ? 'data' : `data${i + 1}`}:${dir}`) : [];
  const service: Record<string, unknown> = {
    build,
    image: `${app}:dev`,
    labels,
    environment: { PORT: String(d.port.value), ...d.appEnv },
    ports: [`127.0.0.1:\${APP_PORT-${d.port.value}}:${d.port.value}`],
    ...(volumes.length ? { volumes } : {}),
    ...(Object.keys(d.services).length ? { depends_on: Object.fromEntries(Object.keys(d.services).map((s) => [s, { condition: 'service_healthy' }])) } : {}),
  };
  const services: Record<string, unknown> = { app: service };
  for (const [name, s] of Object.entries(d.services)) {
    services[name] = { image: s.image, labels, environment: s.env, ...(s.healthcheck ? { healthcheck: { test: ['CMD', ...s.healthcheck], interval: '2s', timeout: '3s', retries: 30 } } : {}) };
  }
  const doc: Record<string, unknown> = { services, networks: { default: { labels } } };
  if (volumes.length) doc.volumes = Object.fromEntries(volumes.map((v) => [v.split(':')[0], { labels }]));
  if (d.usesCaSecret) doc.secrets = { ca: { file: '${PIER_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}' } };
  return [
    `${GENERATED_COMPOSE_PREFIX}${app}${GENERATED_COMPOSE_MARK} pier env up dev runs it as compose project ${app}-dev.`,
    `# Published on 127.0.0.1:${d.port.value} (APP_PORT= for a random port). ${LABELS_NOTE}`,
    yaml(doc),
    '',
  ].join('\n');
}

/** An override for the user's own compose file: pier's labels and image stand-ins on their app service. */
export function composeOverride(d: Detection): string | undefined {
  const svc = d.compose?.appService;
  if (!svc) return undefined;
  const labels = { 'pier.app': d.name.value, 'pier.run': '${PIER_RUN:-dev}', 'pier.pid': '${PIER_PID:-0}' };
  const build: Record<string, unknown> = {};
  if (Object.keys(d.buildArgs).length) build.args = d.buildArgs;
  if (d.usesCaSecret) build.secrets = ['ca'];
  const doc: Record<string, unknown> = { services: { [svc]: { ...(Object.keys(build).length ? { build } : {}), labels } } };
  if (d.usesCaSecret) doc.secrets = { ca: { file: '${PIER_CA_FILE:-/etc/ssl/certs/ca-certificates.crt}' } };
  return [
    `# Written by pier init next to ${d.compose!.file} (left as you wrote it): compose merges this over it.`,
    `# Build arguments select local image stand-ins where registries are unreachable. ${LABELS_NOTE}`,
    yaml(doc),
    '',
  ].join('\n');
}

// node_modules/ whatever the app's language: `npm install --save-dev pier` puts pier itself there.
// Untracked and not ignored, it made every image tag `-dirty` (hashing the whole tree on each
// build), and in a `COPY . .` image it shipped pier and its dependencies.
export const GITIGNORE_LINES = ['.pier/', '.env', 'environments/*.env', '!environments/*.env.example', 'node_modules/'];

export function dockerignoreLines(d: Detection): string[] {
  return ['.git', '.pier/', '.env', 'environments/*.env', 'node_modules/', ...(d.language.value === 'python' ? ['__pycache__/', '.venv/'] : [])];
}

/** Every file init proposes, in the order they are reported. */
export function plan(d: Detection, opts: RenderOptions = {}): PlannedFile[] {
  const files: PlannedFile[] = [{ path: 'pier.yaml', kind: 'create', content: pierYaml(d, opts), why: 'the app and its pipeline' }];
  let composeFiles: string[];
  if (d.compose?.generated) {
    // Init run again: the compose file is our own from last time, not the user's; no override.
    composeFiles = [d.compose.file];
  } else if (d.compose) {
    const override = composeOverride(d);
    composeFiles = override ? [d.compose.file, COMPOSE_OVERRIDE] : [d.compose.file];
    if (override) files.push({ path: COMPOSE_OVERRIDE, kind: 'create', content: override, why: `labels and image stand-ins over ${d.compose.file}` });
  } else {
    composeFiles = [GENERATED_COMPOSE];
    files.push({ path: GENERATED_COMPOSE, kind: 'create', content: composeFile(d, opts), why: 'dev stack (there was no compose file)' });
  }
  for (const [path, content] of Object.entries(envYamls(d, composeFiles, opts))) files.push({ path, kind: 'create', content, why: 'environment overlay' });
  for (const env of ['dev', 'staging', 'production']) files.push({ path: `environments/${env}.env.example`, kind: 'create', content: envExample(d, env), why: 'runtime env template' });
  files.push({ path: '.gitignore', kind: 'append', content: GITIGNORE_LINES.join('\n'), why: 'run directories and env files stay out of git' });
  files.push({ path: '.dockerignore', kind: 'append', content: dockerignoreLines(d).join('\n'), why: 'secrets and run output stay out of the build context' });
  return files;
}
