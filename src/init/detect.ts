/**
 * `pier init`'s guesses from a snapshot of the repository (pure): language, name, Dockerfile
 * targets, port, health path, test command, build arguments that select local image stand-ins,
 * sidecars from a compose file, the env variables the code reads, and whether the app keeps
 * state on local disk. Every guess carries where it came from, so init can say what to check.
 */
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseDockerfile, stageEnv, stageExpose, urlPath, type Dockerfile, type Stage } from './dockerfile.ts';

/** The repository as init sees it: relative paths (posix) and the text of the files it reads. */
export interface RepoSnapshot {
  dir: string;
  /** Every path found (bounded by the scanner), for lockfiles and test directories. */
  paths: string[];
  /** Text of the files worth reading (manifests, Dockerfile, compose, source files). */
  files: Record<string, string>;
}

export type Language = 'node' | 'python' | 'go' | 'java' | 'unknown';

export interface Guess<T> {
  value: T;
  /** Where the guess comes from, e.g. "EXPOSE 8000 in Dockerfile". */
  source: string;
}

export interface SidecarGuess {
  image: string;
  port: number;
  env: Record<string, string>;
  healthcheck?: string[];
}

export interface Detection {
  name: Guess<string>;
  language: Guess<Language>;
  version?: Guess<string>;
  dockerfile?: string;
  stages: { index: number; name?: string; from: string }[];
  targets: { runtime?: Guess<string>; test?: Guess<string> };
  port: Guess<number>;
  health: Guess<string> & { candidates: string[] };
  test?: Guess<string[]>;
  /** Build arguments, values already in `${PIER_X_IMAGE:-public}` form where a stand-in exists. */
  buildArgs: Record<string, string>;
  /** `generated`: the file is the dev stack a previous `pier init` wrote (its header says so). */
  compose?: { file: string; appService?: string; generated?: boolean };
  services: Record<string, SidecarGuess>;
  /** Runtime env of the app in pipeline runs (sidecar URLs from the compose file). */
  appEnv: Record<string, string>;
  /** Variables the code reads (for the *.env.example files). */
  envVars: string[];
  state: { onDisk: boolean; reasons: string[]; dirs: string[] };
  /** The Dockerfile mounts BuildKit secret `ca` (pier passes the host CA bundle as it). */
  usesCaSecret: boolean;
  /** Things a person should look at; each one line. */
  notes: string[];
}

/** Public base images pier has a local stand-in for, and the variable that selects it. */
export const STAND_INS: { match: RegExp; env: string }[] = [
  { match: /^(docker\.io\/)?(library\/)?node:/, env: 'PIER_NODE_IMAGE' },
  { match: /^(docker\.io\/)?(library\/)?debian:/, env: 'PIER_DEBIAN_IMAGE' },
  { match: /^(docker\.io\/)?(library\/)?postgres(:|$)/, env: 'PIER_POSTGRES_IMAGE' },
  { match: /^(docker\.io\/)?(library\/)?redis(:|$)/, env: 'PIER_REDIS_IMAGE' },
  { match: /^(docker\.io\/)?(library\/)?nginx(:|$)/, env: 'PIER_NGINX_IMAGE' },
];

/** `${PIER_NODE_IMAGE:-node:20}` for an image with a stand-in, else the image as written. */
export function withStandIn(image: string): string {
  const s = STAND_INS.find((x) => x.match.test(image));
  return s ? `\${${s.env}:-${image}}` : image;
}

/** Health paths worth trying, most specific first; `/` last. */
export const HEALTH_CANDIDATES = ['/health', '/healthz', '/api/health', '/livez', '/readyz', '/health/live', '/_health', '/ping', '/status', '/'];

const HEALTH_LITERAL = /["'`](\/(?:api\/)?(?:healthz?|livez|readyz|health\/(?:live|ready)|_health|ping|status))["'`]/g;

/** The first line of the compose file `pier init` writes (its prefix and mark; render.ts composeFile uses them). */
export const GENERATED_COMPOSE_PREFIX = '# Dev stack of ';
export const GENERATED_COMPOSE_MARK = ', written by pier init:';
const GENERATED_HEADER = new RegExp(`^${GENERATED_COMPOSE_PREFIX}.*${GENERATED_COMPOSE_MARK}`);
const COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];

/** Lowercase letters, digits and dashes, as app.name requires. */
export function slug(s: string): string {
  const v = s.toLowerCase().replace(/^@[^/]+\//, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return v || 'app';
}

function json(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `[project]` name and version of a pyproject.toml (a line-level read, enough for these two). */
export function pyprojectMeta(text: string): { name?: string; version?: string; mentionsPytest: boolean } {
  let section = '';
  const out: { name?: string; version?: string; mentionsPytest: boolean } = { mentionsPytest: /\bpytest\b/.test(text) };
  for (const line of text.split(/\r?\n/)) {
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (sec) {
      section = sec[1]!.trim();
      continue;
    }
    const kv = /^\s*(name|version)\s*=\s*["']([^"']+)["']/.exec(line);
    if (kv && (section === 'project' || section === 'tool.poetry')) out[kv[1] as 'name' | 'version'] ??= kv[2];
  }
  return out;
}

/** Test code by the usual conventions of each language. */
export function isTestFile(p: string): boolean {
  return /(^|\/)(tests?|__tests__|spec)\//.test(p) || /(_test\.go|\.(test|spec)\.[mc]?[jt]s|(^|\/)test_[^/]*\.py|_test\.py|Test\.java)$/.test(p);
}

function sourceFiles(snap: RepoSnapshot): [string, string][] {
  return Object.entries(snap.files).filter(([p]) => /\.(js|mjs|cjs|ts|py|go|java|kt|rb)$/.test(p) && !/(^|\/)(node_modules|vendor|dist|build)\//.test(p));
}

/** Env variables the code reads: process.env.X, os.environ[...], os.getenv, os.Getenv, System.getenv. */
export function envVarsRead(sources: [string, string][]): string[] {
  const found = new Set<string>();
  const patterns = [
    /process\.env\.([A-Z_][A-Z0-9_]*)/g,
    /process\.env\[['"]([A-Z_][A-Z0-9_]*)['"]\]/g,
    /os\.environ(?:\.get)?\s*[[(]\s*['"]([A-Z_][A-Z0-9_]*)['"]/g,
    /os\.getenv\(\s*['"]([A-Z_][A-Z0-9_]*)['"]/g,
    /os\.Getenv\(\s*"([A-Z_][A-Z0-9_]*)"/g,
    /System\.getenv\(\s*"([A-Z_][A-Z0-9_]*)"/g,
  ];
  for (const [, text] of sources) for (const re of patterns) for (const m of text.matchAll(re)) found.add(m[1]!);
  for (const v of ['NODE_ENV', 'HOME', 'PATH']) found.delete(v);
  return [...found].sort();
}

/** A package.json only there to install dev tools (pier itself) in a Go or Python repository. */
function toolsOnlyPackageJson(snap: RepoSnapshot): boolean {
  const pkg = json(snap.files['package.json']);
  const scripts = (pkg?.scripts ?? {}) as Record<string, unknown>;
  return !!pkg && !pkg.dependencies && !pkg.main && !scripts.start && !scripts.test;
}

function languageOf(snap: RepoSnapshot, has: (p: string) => boolean): Guess<Language> {
  const other = ['go.mod', 'pyproject.toml', 'requirements.txt', 'setup.py', 'pom.xml', 'build.gradle'].some(has);
  if (has('package.json') && !(other && toolsOnlyPackageJson(snap))) return { value: 'node', source: 'package.json' };
  if (has('go.mod')) return { value: 'go', source: 'go.mod' };
  for (const f of ['pyproject.toml', 'requirements.txt', 'setup.py', 'Pipfile']) if (has(f)) return { value: 'python', source: f };
  for (const f of ['pom.xml', 'build.gradle', 'build.gradle.kts']) if (has(f)) return { value: 'java', source: f };
  const src = sourceFiles(snap).map(([p]) => p);
  if (src.some((p) => p.endsWith('.py'))) return { value: 'python', source: '*.py files' };
  if (src.some((p) => p.endsWith('.go'))) return { value: 'go', source: '*.go files' };
  if (src.some((p) => /\.[mc]?js$/.test(p))) return { value: 'node', source: '*.js files' };
  return { value: 'unknown', source: 'no manifest found' };
}

interface ComposeService {
  image?: string;
  build?: unknown;
  ports?: unknown[];
  environment?: unknown;
  volumes?: unknown[];
  healthcheck?: { test?: unknown };
}

function composeEnv(env: unknown): Record<string, string> {
  if (Array.isArray(env)) return Object.fromEntries(env.map(String).map((e) => [e.split('=')[0]!, e.split('=').slice(1).join('=')]));
  if (env && typeof env === 'object') return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
  return {};
}

/** Container port of a compose `ports` entry ("127.0.0.1:3000:3000", "8080:80", {target: 80}). */
export function containerPort(p: unknown): number | undefined {
  if (typeof p === 'number') return p;
  if (p && typeof p === 'object' && 'target' in p) return Number((p as { target: unknown }).target) || undefined;
  const s = String(p).replace(/\$\{[^}]*\}/g, 'X').split('/')[0]!;
  const n = Number(s.split(':').pop());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Known sidecar kinds by image name: pier's defaults for port, readiness and its URL for the app. */
const SIDECARS: { match: RegExp; port: number; health: (env: Record<string, string>) => string[]; url?: (name: string, env: Record<string, string>) => [string, string] }[] = [
  {
    match: /(^|\/)postgres(:|$)/,
    port: 5432,
    health: (e) => ['pg_isready', '-U', e.POSTGRES_USER ?? 'postgres', '-h', '127.0.0.1'],
    url: (n, e) => ['DATABASE_URL', `postgres://${e.POSTGRES_USER ?? 'postgres'}:${e.POSTGRES_PASSWORD ?? 'postgres'}@${n}:5432/${e.POSTGRES_DB ?? e.POSTGRES_USER ?? 'postgres'}`],
  },
  { match: /(^|\/)redis(:|$)/, port: 6379, health: () => ['redis-cli', 'ping'], url: (n) => ['REDIS_URL', `redis://${n}:6379`] },
  { match: /(^|\/)(mysql|mariadb)(:|$)/, port: 3306, health: () => ['mysqladmin', 'ping', '-h', '127.0.0.1'] },
  { match: /(^|\/)mongo(:|$)/, port: 27017, health: () => ['mongosh', '--quiet', '--eval', 'db.runCommand({ping:1})'] },
];

/** Imports of file-backed databases: JS require/import, Python import, Go import path. */
const STATE_IMPORTS = [
  /(?:require\(\s*|from\s+|import\s+)['"](sqlite3|better-sqlite3|sql\.js|lowdb|nedb|level|classic-level|node:sqlite)['"]/,
  /^\s*(?:import|from)\s+(sqlite3|shelve|tinydb|dbm)\b/m,
  /"(github\.com\/mattn\/go-sqlite3|modernc\.org\/sqlite|go\.etcd\.io\/bbolt|github\.com\/dgraph-io\/badger[^"]*)"/,
];
const STATE_DEPS = /^(sqlite3|better-sqlite3|sql\.js|lowdb|nedb|level|classic-level)$/;

function stateOnDisk(snap: RepoSnapshot, runtime: Stage | undefined, df: Dockerfile | undefined, composeApp: ComposeService | undefined, envVars: string[]) {
  const reasons: string[] = [];
  const dirs = new Set<string>();
  if (runtime?.volumes.length) {
    reasons.push(`VOLUME ${runtime.volumes.join(' ')} in the Dockerfile`);
    runtime.volumes.forEach((v) => dirs.add(v));
  }
  outer: for (const [p, text] of sourceFiles(snap).filter(([p]) => !isTestFile(p))) {
    for (const re of STATE_IMPORTS) {
      const m = re.exec(text);
      if (m) {
        reasons.push(`${p} uses ${m[1]} (a database in a local file)`);
        break outer;
      }
    }
  }
  const pkg = json(snap.files['package.json']);
  const deps = { ...(pkg?.dependencies as object), ...(pkg?.optionalDependencies as object) };
  const dep = Object.keys(deps).find((d) => STATE_DEPS.test(d));
  if (dep && !reasons.some((r) => r.includes(dep))) reasons.push(`package.json depends on ${dep} (a database in a local file)`);
  for (const v of composeApp?.volumes ?? []) {
    const s = typeof v === 'string' ? v : (v as { source?: string; target?: string; type?: string });
    const [source, target] = typeof s === 'string' ? s.split(':') : [s.source, s.target];
    // A named volume (not a bind of the source tree) is data the app writes.
    if (source && target && !/^[./~]/.test(source)) {
      reasons.push(`the compose file mounts volume ${source} at ${target}`);
      dirs.add(target);
    }
  }
  const env = runtime && df ? stageEnv(df, runtime) : {};
  for (const name of envVars.filter((n) => /^(DATA_DIR|DATA_PATH|STORAGE_DIR|UPLOAD_DIR|SQLITE_\w+|DB_FILE|DB_PATH)$/.test(n))) {
    const dir = env[name];
    if (dir?.startsWith('/')) dirs.add(name === 'DB_FILE' || name.startsWith('SQLITE') ? dir.replace(/\/[^/]*$/, '') || '/' : dir);
    if (!reasons.length) reasons.push(`the code reads ${name}`);
  }
  return { onDisk: reasons.length > 0, reasons, dirs: [...dirs] };
}

export function detect(snap: RepoSnapshot): Detection {
  const has = (p: string) => p in snap.files || snap.paths.includes(p);
  const notes: string[] = [];
  const language = languageOf(snap, has);
  // package.json describes the app only in a Node repository (elsewhere it may just install pier).
  const pkg = language.value === 'node' ? json(snap.files['package.json']) : undefined;
  const py = snap.files['pyproject.toml'] !== undefined ? pyprojectMeta(snap.files['pyproject.toml']) : undefined;
  const gomod = /^module\s+(\S+)/m.exec(snap.files['go.mod'] ?? '')?.[1];

  const name: Guess<string> =
    typeof pkg?.name === 'string' ? { value: slug(pkg.name), source: 'package.json name' }
    : py?.name ? { value: slug(py.name), source: 'pyproject.toml [project] name' }
    : gomod ? { value: slug(gomod.split('/').pop()!), source: 'go.mod module' }
    : { value: slug(basename(snap.dir)), source: 'directory name' };
  const version: Guess<string> | undefined =
    typeof pkg?.version === 'string' ? { value: pkg.version, source: 'package.json version' }
    : py?.version ? { value: py.version, source: 'pyproject.toml version' }
    : undefined;

  // Dockerfile: stages, targets, port, HEALTHCHECK, build arguments.
  const dockerfile = ['Dockerfile', 'dockerfile', 'Containerfile'].find((f) => snap.files[f] !== undefined);
  const df = dockerfile ? parseDockerfile(snap.files[dockerfile]!) : undefined;
  if (!df) notes.push('no Dockerfile found: write one (pier builds and ships a container image) and run pier init again');
  const stages = df?.stages ?? [];
  const runtime = stages[stages.length - 1];
  const targets: Detection['targets'] = {};
  if (runtime?.name) targets.runtime = { value: runtime.name, source: `last stage of ${dockerfile}` };
  else if (runtime) notes.push(`the last stage of ${dockerfile} has no name: pier builds it without --target`);
  const testStage = stages.find((s) => s.name && /^(test|tests|testing|check|ci)$/.test(s.name));
  const toolchain = (s: Stage) => /golang|openjdk|maven|gradle|rust|gcc/.test(s.fromResolved + s.runs.join(' ')) || s.runs.some((r) => /\bgo (build|vet|mod)\b|\bmvn\b|\bgradle\b|\bcargo\b/.test(r));
  const buildStage = stages.find((s) => s.name && s !== runtime && toolchain(s));
  if (testStage) targets.test = { value: testStage.name!, source: `stage "${testStage.name}" of ${dockerfile}` };
  else if (language.value === 'go' || language.value === 'java') {
    if (buildStage) targets.test = { value: buildStage.name!, source: `stage "${buildStage.name}" has the toolchain (the ${runtime?.name ?? 'last'} stage has only the binary)` };
    else if (runtime && stages.length > 1) notes.push(`no named stage with the ${language.value} toolchain: name the build stage (FROM ... AS build) so tests can run in it`);
  } else if (runtime?.name) targets.test = { value: runtime.name, source: 'no test stage: tests run in the shipped image' };

  const buildArgs: Record<string, string> = {};
  for (const [arg, dflt] of Object.entries(df?.args ?? {})) {
    const usedInFrom = stages.some((s) => s.from.includes(`$${arg}`) || s.from.includes(`\${${arg}}`));
    if (usedInFrom && dflt) buildArgs[arg] = withStandIn(dflt);
  }
  for (const s of stages) {
    if (s.fromStage || s.from.includes('$') || s.fromResolved === 'scratch') continue;
    if (STAND_INS.some((x) => x.match.test(s.fromResolved))) notes.push(`${dockerfile} names ${s.fromResolved} directly; as a build argument (ARG BASE_IMAGE=${s.fromResolved}) pier could select a local stand-in where registries are unreachable`);
  }
  const usesCaSecret = /--mount=type=secret,[^\s]*id=ca\b/.test(snap.files[dockerfile ?? ''] ?? '');
  if (language.value === 'node' && dockerfile && !usesCaSecret && /npm (ci|install)|yarn|pnpm/.test(snap.files[dockerfile]!)) {
    notes.push(`${dockerfile} installs npm packages without the CA secret: behind a proxy or private CA add RUN --mount=type=secret,id=ca NODE_EXTRA_CA_CERTS=/run/secrets/ca npm_config_cafile=/run/secrets/ca npm ci`);
  }

  // Compose file: the app's service, its sidecars and their URLs.
  const composeFile = COMPOSE_FILES.find((f) => snap.files[f] !== undefined);
  let compose: Detection['compose'];
  let composeApp: ComposeService | undefined;
  const services: Record<string, SidecarGuess> = {};
  const appEnv: Record<string, string> = {};
  if (composeFile) {
    let doc: { services?: Record<string, ComposeService> } | undefined;
    try {
      doc = parseYaml(snap.files[composeFile]!) as typeof doc;
    } catch (err) {
      notes.push(`${composeFile} does not parse as YAML (${(err as Error).message.split('\n')[0]}); its services were not read`);
    }
    const svcs = doc?.services ?? {};
    const appService = Object.keys(svcs).find((k) => svcs[k]?.build !== undefined);
    composeApp = appService ? svcs[appService] : undefined;
    compose = { file: composeFile, appService, ...(GENERATED_HEADER.test(snap.files[composeFile]!) ? { generated: true } : {}) };
    for (const [k, s] of Object.entries(svcs)) {
      if (k === appService || !s?.image) continue;
      const kind = SIDECARS.find((x) => x.match.test(s.image!.replace(/\$\{[^}]*:-([^}]*)\}/, '$1')));
      if (!kind) {
        notes.push(`compose service "${k}" (${s.image}) is not a known sidecar; add it to app.services by hand if tests need it`);
        continue;
      }
      const env = composeEnv(s.environment);
      services[k] = { image: withStandIn(s.image.replace(/\$\{[^}]*:-([^}]*)\}/, '$1')), port: kind.port, env, healthcheck: kind.health(env) };
      const url = kind.url?.(k, env);
      if (url) appEnv[url[0]] = url[1];
    }
    for (const [k, v] of Object.entries(composeEnv(composeApp?.environment))) {
      if (k in appEnv || /\$\{/.test(v) || k === 'PORT') continue;
      if (/PASSWORD|SECRET|TOKEN|KEY/i.test(k)) continue; // secrets never go into pier.yaml
      appEnv[k] = v;
    }
  }

  // Port: EXPOSE, else the compose app service, else ENV PORT, else the language's habit.
  const exposed = runtime && df ? stageExpose(df, runtime) : [];
  const composePort = (composeApp?.ports ?? []).map(containerPort).find((p) => p !== undefined);
  const envPort = Number(runtime && df ? stageEnv(df, runtime).PORT : NaN);
  const flask = language.value === 'python' && /\bflask\b/i.test(Object.values(snap.files).join('\n'));
  const port: Guess<number> =
    exposed.length ? { value: exposed[0]!, source: `EXPOSE ${exposed.join(' ')} in ${dockerfile}` }
    : composePort ? { value: composePort, source: `ports of service "${compose!.appService}" in ${composeFile}` }
    : Number.isInteger(envPort) && envPort > 0 ? { value: envPort, source: `ENV PORT in ${dockerfile}` }
    : { value: language.value === 'node' ? 3000 : flask ? 5000 : language.value === 'python' ? 8000 : 8080, source: `the usual port of a ${flask ? 'Flask' : language.value} app (nothing EXPOSEd)` };
  if (exposed.length > 1) notes.push(`${dockerfile} EXPOSEs ${exposed.join(', ')}: pier took ${exposed[0]}`);

  // Health path: HEALTHCHECK, compose healthcheck, a health-looking route literal in the code.
  const envVars = envVarsRead(sourceFiles(snap));
  const composeHealth = composeApp?.healthcheck?.test ? urlPath(([] as unknown[]).concat(composeApp.healthcheck.test).join(' ')) : undefined;
  const routes = new Set<string>();
  // Test files name paths the app must NOT serve too (404 cases): only the app's own code counts.
  for (const [, text] of sourceFiles(snap).filter(([p]) => !isTestFile(p))) for (const m of text.matchAll(HEALTH_LITERAL)) routes.add(m[1]!);
  const ordered = HEALTH_CANDIDATES.filter((c) => routes.has(c));
  const health: Detection['health'] =
    runtime?.healthPath ? { value: runtime.healthPath, source: `HEALTHCHECK in ${dockerfile}`, candidates: [] }
    : composeHealth ? { value: composeHealth, source: `healthcheck of "${compose!.appService}" in ${composeFile}`, candidates: [] }
    : ordered.length ? { value: ordered[0]!, source: `route "${ordered[0]}" in the source`, candidates: [] }
    : { value: '/', source: 'no health route found; / answers for most apps', candidates: [] };
  // Probing tries the most specific paths first; `/` (answers for most apps) only last.
  health.candidates = [...new Set([...(health.value === '/' ? [] : [health.value]), ...ordered, ...HEALTH_CANDIDATES])];

  // Tests.
  const scripts = (pkg?.scripts ?? {}) as Record<string, string>;
  let test: Guess<string[]> | undefined;
  if (language.value === 'node' && scripts.test && !/no test specified/.test(scripts.test)) test = { value: ['npm', 'test'], source: `package.json scripts.test (${scripts.test})` };
  else if (language.value === 'python') {
    const pytest = py?.mentionsPytest || /\bpytest\b/.test(snap.files['requirements.txt'] ?? '') || /\bpytest\b/.test(snap.files['requirements-dev.txt'] ?? '') || snap.paths.some((p) => /(^|\/)(conftest|test_\w+)\.py$/.test(p));
    if (pytest) test = { value: ['python3', '-m', 'pytest'], source: 'pytest in the project files' };
    else if (snap.paths.some((p) => /(^|\/)tests?\/.*\.py$/.test(p))) test = { value: ['python3', '-m', 'unittest', 'discover'], source: 'tests/*.py (unittest)' };
  } else if (language.value === 'go' && snap.paths.some((p) => p.endsWith('_test.go'))) test = { value: ['go', 'test', '-v', './...'], source: '*_test.go files (-v: per-test counts in the report)' };
  else if (language.value === 'java') test = has('pom.xml') ? { value: ['mvn', '-B', 'test'], source: 'pom.xml' } : { value: ['./gradlew', 'test'], source: 'Gradle build' };
  if (!test) notes.push('no tests found: app.test.command is set to `true`; replace it with your test command');
  else if (targets.test && targets.runtime && targets.test.value === targets.runtime.value && language.value !== 'node' && language.value !== 'python') notes.push('tests run in the shipped image: check it has the test tools');

  const state = stateOnDisk(snap, runtime, df, composeApp, envVars);
  for (const [k, v] of Object.entries(runtime && df ? stageEnv(df, runtime) : {})) if (state.dirs.includes(v) && !(k in appEnv)) appEnv[k] = v;

  return {
    name,
    language,
    version,
    dockerfile,
    stages: stages.map((s) => ({ index: s.index, name: s.name, from: s.fromResolved })),
    targets,
    port,
    health,
    test,
    buildArgs,
    compose,
    services,
    appEnv,
    envVars,
    state,
    usesCaSecret,
    notes,
  };
}
