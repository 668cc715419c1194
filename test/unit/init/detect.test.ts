import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { detect, slug, withStandIn, containerPort, envVarsRead, isTestFile, pyprojectMeta } from '../../../src/init/detect.ts';
import { scanRepo } from '../../../src/init/scan.ts';
import { plan } from '../../../src/init/render.ts';
import { stateWarning, validatePlan } from '../../../src/init/init.ts';
import { repoRoot } from '../../helpers/paths.ts';

const app = (name: string) => detect(scanRepo(join(repoRoot, 'test/fixtures/apps', name)));

describe('pier init detection on the fixture apps and the example app', () => {
  it('python-flask: single unnamed stage, EXPOSE, /healthz route, pytest, SQLite under DATA_DIR', () => {
    const d = app('python-flask');
    expect(d.name).toEqual({ value: 'notes', source: 'pyproject.toml [project] name' });
    expect(d.language.value).toBe('python');
    expect(d.version?.value).toBe('0.3.1');
    expect(d.stages).toEqual([{ index: 0, name: undefined, from: 'debian:bookworm' }]);
    expect(d.targets).toEqual({});
    expect(d.port).toEqual({ value: 8000, source: 'EXPOSE 8000 in Dockerfile' });
    expect(d.health.value).toBe('/healthz');
    expect(d.test?.value).toEqual(['python3', '-m', 'pytest']);
    expect(d.buildArgs).toEqual({ BASE_IMAGE: '${PIER_DEBIAN_IMAGE:-debian:bookworm}' });
    expect(d.state).toEqual({ onDisk: true, reasons: ['notes/app.py uses sqlite3 (a database in a local file)'], dirs: ['/data'] });
    expect(d.appEnv).toEqual({ DATA_DIR: '/data' });
    expect(d.envVars).toEqual(['APP_VERSION', 'DATA_DIR', 'PORT']);
    expect(d.compose).toBeUndefined();
  });

  it('go-stdlib: differently named stages, tests in the toolchain stage, no health route (a test file naming /health does not count)', () => {
    const d = app('go-stdlib');
    expect(d.name).toEqual({ value: 'counter', source: 'go.mod module' });
    expect(d.language.value).toBe('go');
    expect(d.version).toBeUndefined();
    expect(d.stages.map((s) => s.name)).toEqual(['builder', 'release']);
    expect(d.targets.runtime?.value).toBe('release');
    expect(d.targets.test?.value).toBe('builder');
    expect(d.port.value).toBe(8080);
    expect(d.health.value).toBe('/');
    expect(d.health.candidates.at(-1)).toBe('/'); // probed last
    expect(d.test?.value).toEqual(['go', 'test', '-v', './...']);
    expect(d.state.onDisk).toBe(false);
    expect(d.envVars).toEqual(['APP_VERSION', 'PORT']);
  });

  it('node-jest: single stage, jest via npm test, the user compose file and its app service, the CA secret', () => {
    const d = app('node-jest');
    expect(d.name.value).toBe('todo-api');
    expect(d.language.value).toBe('node');
    expect(d.targets).toEqual({});
    expect(d.port.value).toBe(3000);
    expect(d.health.value).toBe('/health');
    expect(d.test).toEqual({ value: ['npm', 'test'], source: 'package.json scripts.test (jest)' });
    expect(d.compose).toEqual({ file: 'compose.yaml', appService: 'app' });
    expect(d.usesCaSecret).toBe(true);
    expect(d.buildArgs).toEqual({ NODE_IMAGE: '${PIER_NODE_IMAGE:-node:20-bookworm-slim}' });
    expect(d.state.onDisk).toBe(false);
  });

  it('examples/api: named test and runtime stages, HEALTHCHECK with a concatenated URL', () => {
    const d = detect(scanRepo(join(repoRoot, 'examples/api')));
    expect(d.targets.runtime?.value).toBe('runtime');
    expect(d.targets.test?.value).toBe('test');
    expect(d.health).toMatchObject({ value: '/health', source: 'HEALTHCHECK in Dockerfile' });
    expect(d.port.value).toBe(3000);
    expect(d.buildArgs).toEqual({ NODE_IMAGE: '${PIER_NODE_IMAGE:-node:22-bookworm-slim}' });
    expect(d.state.onDisk).toBe(false); // LOG_LEVEL is not the `level` database
  });

  it.each(['python-flask', 'go-stdlib', 'node-jest'])('%s: every generated pier.yaml and environment validates with pier\'s own schemas', (name) => {
    const files = plan(app(name));
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['pier.yaml', 'environments/dev.yaml', 'environments/staging.yaml', 'environments/production.yaml', 'environments/dev.env.example', '.gitignore', '.dockerignore']));
    expect(validatePlan(files, {})).toEqual([]);
  });

  it.each(['python-flask', 'go-stdlib', 'node-jest'])('%s: node_modules/ (where npm puts pier itself) is git- and docker-ignored whatever the language', (name) => {
    const files = plan(app(name));
    for (const path of ['.gitignore', '.dockerignore']) expect(files.find((f) => f.path === path)!.content.split('\n'), path).toContain('node_modules/');
  });

  it('the example app\'s generated config validates too', () => {
    expect(validatePlan(plan(detect(scanRepo(join(repoRoot, 'examples/api')))), {})).toEqual([]);
  });

  it('warns about state on local disk only when there is some', () => {
    expect(stateWarning(app('python-flask'))).toMatch(/^notes keeps state on local disk \(notes\/app.py uses sqlite3.*each host has its own copy.*app.volumes \(\/data\)/);
    expect(stateWarning(app('go-stdlib'))).toBeUndefined();
  });
});

describe('detection helpers', () => {
  it('slug, stand-ins, compose ports, pyproject', () => {
    expect(slug('@acme/Todo_App')).toBe('todo-app');
    expect(slug('---')).toBe('app');
    expect(withStandIn('node:18-alpine')).toBe('${PIER_NODE_IMAGE:-node:18-alpine}');
    expect(withStandIn('python:3.11-slim')).toBe('python:3.11-slim'); // no stand-in: as written
    expect(containerPort('127.0.0.1:${PORT:-3000}:3000')).toBe(3000);
    expect(containerPort('8080:80/tcp')).toBe(80);
    expect(containerPort({ target: 5000, published: 5001 })).toBe(5000);
    expect(pyprojectMeta('[tool.x]\nname = "no"\n[project]\nname = "yes"\nversion = "1.2.3"\n')).toEqual({ name: 'yes', version: '1.2.3', mentionsPytest: false });
  });

  it('a package.json that only installs pier does not make a Go repository a Node app', () => {
    const d = detect({ dir: '/x/repo', paths: ['go.mod', 'package.json', 'main_test.go'], files: { 'go.mod': 'module example.com/svc\n', 'package.json': '{"name":"svc-tools","devDependencies":{"pier":"file:pier.tgz"}}', Dockerfile: 'FROM golang AS build\nFROM debian AS run\n' } });
    expect(d.language.value).toBe('go');
    expect(d.name.value).toBe('svc');
    expect(d.test?.value).toEqual(['go', 'test', '-v', './...']);
  });

  it('reads env variables from JS, Python, Go and Java', () => {
    expect(
      envVarsRead([
        ['a.js', 'process.env.DB_URL; process.env["X_Y"]; process.env.NODE_ENV'],
        ['b.py', 'os.environ.get("PY_A"); os.environ["PY_B"]; os.getenv("PY_C")'],
        ['c.go', 'os.Getenv("GO_A")'],
        ['D.java', 'System.getenv("J_A")'],
      ]),
    ).toEqual(['DB_URL', 'GO_A', 'J_A', 'PY_A', 'PY_B', 'PY_C', 'X_Y']);
  });

  it('tells test files from app code', () => {
    for (const p of ['server_test.go', 'tests/test_app.py', 'test_x.py', 'src/a.test.js', '__tests__/b.js', 'spec/c.ts']) expect(isTestFile(p), p).toBe(true);
    for (const p of ['server.go', 'notes/app.py', 'src/latest.js', 'src/contest.py']) expect(isTestFile(p), p).toBe(false);
  });

  it('reads sidecars and their URLs from a compose file, never copying secrets into pier.yaml', () => {
    const d = detect({
      dir: '/x/shop',
      paths: ['package.json', 'Dockerfile', 'compose.yaml'],
      files: {
        'package.json': '{"name":"shop","scripts":{"test":"echo \\"Error: no test specified\\" && exit 1"}}',
        Dockerfile: 'FROM node:20\nCMD ["node","."]\n',
        'compose.yaml': 'services:\n  web:\n    build: .\n    ports: ["8000:3000"]\n    environment:\n      API_SECRET: s3cret\n      MODE: demo\n  db:\n    image: postgres:16\n    environment: [POSTGRES_USER=shop, POSTGRES_PASSWORD=pw]\n  cache:\n    image: redis:7\n  mq:\n    image: rabbitmq:3\n',
      },
    });
    expect(d.port).toEqual({ value: 3000, source: 'ports of service "web" in compose.yaml' });
    expect(d.services.db).toEqual({ image: '${PIER_POSTGRES_IMAGE:-postgres:16}', port: 5432, env: { POSTGRES_USER: 'shop', POSTGRES_PASSWORD: 'pw' }, healthcheck: ['pg_isready', '-U', 'shop', '-h', '127.0.0.1'] });
    expect(d.services.cache?.image).toBe('${PIER_REDIS_IMAGE:-redis:7}');
    expect(d.appEnv).toEqual({ DATABASE_URL: 'postgres://shop:pw@db:5432/shop', REDIS_URL: 'redis://cache:6379', MODE: 'demo' });
    expect(d.test).toBeUndefined(); // npm's placeholder script is not a test command
    expect(d.notes.join('\n')).toMatch(/compose service "mq" \(rabbitmq:3\) is not a known sidecar/);
    expect(d.notes.join('\n')).toMatch(/no tests found/);
    expect(d.notes.join('\n')).toMatch(/names node:20 directly/);
    expect(validatePlan(plan(d), {})).toEqual([]);
  });

  it('init run again: the compose file the first run wrote is pier\'s own, so no override is planned', () => {
    const first = app('go-stdlib');
    const written = plan(first).find((f) => f.path === 'compose.yaml');
    expect(written).toBeDefined();
    const snap = scanRepo(join(repoRoot, 'test/fixtures/apps/go-stdlib'));
    const again = detect({ ...snap, paths: [...snap.paths, 'compose.yaml'], files: { ...snap.files, 'compose.yaml': written!.content } });
    expect(again.compose).toMatchObject({ file: 'compose.yaml', generated: true });
    const files = plan(again);
    expect(files.map((f) => f.path)).not.toContain('compose.pier.yaml');
    expect(files.find((f) => f.path === 'environments/dev.yaml')!.content).toMatch(/compose:\n\s+- compose.yaml\n/);
    // A user's own compose file still gets the override.
    const user = detect({ ...snap, paths: [...snap.paths, 'compose.yaml'], files: { ...snap.files, 'compose.yaml': written!.content.split('\n').slice(2).join('\n') } });
    expect(user.compose?.generated).toBeUndefined();
    expect(plan(user).map((f) => f.path)).toContain('compose.pier.yaml');
  });
});
