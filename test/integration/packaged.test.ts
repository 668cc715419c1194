/**
 * pier as a user gets it: `npm pack`, installed into a fresh project outside this checkout, run
 * through `npx pier` (compiled JavaScript, no tsx). Then, from that project, the per-user machine
 * file written by `pier setup` decides the images: config interpolation (env > repo .env >
 * machine file > default), the installed `pier setup` itself (on a machine that `npm run setup`
 * already made ready: it only records, in a temporary XDG_CONFIG_HOME, and a compose stack of the
 * project runs the image it recorded) and the local registry publish starts (issue 10, item 3).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseDotenv } from 'dotenv';
import { interpolationVars } from '../../src/config/load.ts';
import { BASE_IMAGE, IMAGES } from '../../src/machine/images.ts';
import { contextHash } from '../../src/setup/stand-ins.ts';
import { repoRoot } from '../helpers/paths.ts';

const work = mkdtempSync(join(tmpdir(), 'pier-packaged-'));
const app = join(work, 'userapp');
const xdg = join(work, 'xdg');
const machineEnv = join(xdg, 'pier', 'machine.env');
const registryImage = interpolationVars(repoRoot).PIER_REGISTRY_IMAGE ?? 'registry:2';
const nodeImage = interpolationVars(repoRoot).PIER_NODE_IMAGE ?? 'node:22-bookworm-slim';
const pkgVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const cleanup: (() => void)[] = [];

/** Only the variables a user's shell would have: no PIER_* leaking in from this test run. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIER_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
  return { ...env, XDG_CONFIG_HOME: xdg, ...extra };
}

const run = promisify(execFile);

/** dist/ at least as new as every file under src/ (what bin/pier.js checks before running it). */
function distIsFresh(): boolean {
  const built = join(repoRoot, 'dist', 'cli', 'main.js');
  if (!existsSync(built)) return false;
  const src = join(repoRoot, 'src');
  const newest = Math.max(...readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => statSync(join(e.parentPath, e.name)).mtimeMs));
  return statSync(built).mtimeMs >= newest;
}

/** The installed bin (`npx pier` resolves to it; npx itself is checked once, for --version). */
async function pier(args: string[], extra: Record<string, string> = {}, cmd = [join(app, 'node_modules', '.bin', 'pier')]) {
  // Async: a synchronous child would block the test worker for the whole run.
  try {
    const r = await run(cmd[0]!, [...cmd.slice(1), ...args], { cwd: app, env: userEnv(extra), encoding: 'utf8', timeout: 150_000 });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

beforeAll(async () => {
  expect(work.startsWith(repoRoot)).toBe(false);
  // `npm pack` runs `prepare`, a whole tsc build; when dist/ is already newer than every file under
  // src/ (bin/pier.js's own test: a fresh clone's `npm ci` has just built it) that is skipped.
  const scripts = distIsFresh() ? ['--ignore-scripts'] : [];
  const packed = (await run('npm', ['pack', '--pack-destination', work, '--silent', ...scripts], { cwd: repoRoot, encoding: 'utf8' })).stdout.trim().split('\n').pop()!;
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"userapp","private":true}\n');
  await run('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed)], { cwd: app });
  // A tiny Python app: no package.json of its own (the one above is only the tool's).
  writeFileSync(join(app, 'pyproject.toml'), '[project]\nname = "userapp"\nversion = "0.3.1"\n');
  writeFileSync(join(app, 'app.py'), 'print("hello")\n');
  writeFileSync(join(app, 'Dockerfile'), 'ARG BASE\nFROM ${BASE} AS test\nCOPY app.py /app/app.py\n\nFROM ${BASE} AS runtime\nCOPY app.py /app/app.py\nCMD ["sleep", "infinity"]\n');
  writeFileSync(join(app, '.dockerignore'), 'node_modules\n.pier\n');
  mkdirSync(join(xdg, 'pier'), { recursive: true });
}, 600_000);

afterAll(() => {
  for (const c of cleanup) c();
  rmSync(work, { recursive: true, force: true });
});

function writePierYaml(registryPort = 5000): void {
  writeFileSync(
    join(app, 'pier.yaml'),
    [
      'app:',
      '  name: userapp',
      '  image: pier-packaged/userapp',
      '  port: 8000',
      '  buildArgs:',
      '    BASE: ${PIER_NODE_IMAGE:-node:22-bookworm-slim}',
      '  test:',
      '    command: [python3, -c, "1"]',
      'pipeline:',
      '  registry:',
      `    address: 127.0.0.1:${registryPort}`,
      '',
    ].join('\n'),
  );
}

describe('the packed and installed package', () => {
  it('carries compiled JavaScript, schemas and the stand-in Dockerfiles; no sources, no tsx', () => {
    const pkg = join(app, 'node_modules', 'pier');
    expect(existsSync(join(pkg, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(pkg, 'src'))).toBe(false);
    expect(readdirSync(join(pkg, 'schema')).sort()).toEqual(['environment.schema.json', 'pier.schema.json']);
    for (const img of ['node', 'postgres', 'redis', 'nginx', 'registry', 'prometheus', 'sshhost']) {
      expect(existsSync(join(pkg, 'scripts', 'images', img, 'Dockerfile')), img).toBe(true);
    }
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', '@dagger.io', 'dagger'))).toBe(false);
  });

  it('npx pier --version, --help, dev-hosts --help, setup --help', async () => {
    const v = await pier(['--version'], {}, ['npx', '--no-install', 'pier']);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(pkgVersion);
    const h = await pier(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toMatch(/^\s+setup\s/m);
    expect(h.stdout).toMatch(/^\s+dev-hosts\s/m);
    const d = await pier(['dev-hosts', '--help']);
    expect(d.status).toBe(0);
    expect(d.stdout).toContain('pier dev-hosts up');
    const s = await pier(['setup', '--help']);
    expect(s.status).toBe(0);
    expect(s.stdout).toContain('machine.env');
  });

  it('pier config in a non-Node project: variables from env > repo .env > machine file > default', async () => {
    writePierYaml();
    const base = async () => {
      const r = await pier(['config', '--json']);
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { app: { buildArgs: { BASE: string } } }).app.buildArgs.BASE;
    };
    rmSync(machineEnv, { force: true });
    expect(await base()).toBe('node:22-bookworm-slim');
    writeFileSync(machineEnv, 'PIER_NODE_IMAGE=from-machine/node:1\n');
    expect(await base()).toBe('from-machine/node:1');
    writeFileSync(join(app, '.env'), 'PIER_NODE_IMAGE=from-dotenv/node:1\n');
    expect(await base()).toBe('from-dotenv/node:1');
    const r = await pier(['config', '--json'], { PIER_NODE_IMAGE: 'from-env/node:1' });
    expect(JSON.parse(r.stdout).app.buildArgs.BASE).toBe('from-env/node:1');
    rmSync(join(app, '.env'));
  });

  it('pier setup on a ready machine: records the images in the machine file, starts and builds nothing; a compose stack of the project runs them', async () => {
    // What `npm run setup` chose for this machine (public images, or pier.local/* stand-ins).
    const vars = interpolationVars(repoRoot);
    const expected = Object.fromEntries([...IMAGES.map((i) => i.env), BASE_IMAGE.env].map((k) => [k, vars[k]]));
    expect(Object.values(expected).every(Boolean), 'run `npm run setup` first').toBe(true);
    // Preconditions, so that the run below only records: an engine answers (setup would otherwise
    // start dockerd) and every stand-in was built from the Dockerfiles this package carries (setup
    // would otherwise rebuild it under a name other runs on this machine use).
    expect(spawnSync('docker', ['info'], { timeout: 20_000 }).status, 'no Docker engine answers').toBe(0);
    const stale = IMAGES.filter((i) => vars[i.env] === i.local).filter((i) => {
      const label = spawnSync('docker', ['image', 'inspect', '-f', '{{ index .Config.Labels "pier.image.hash" }}', i.local], { encoding: 'utf8' }).stdout.trim();
      return label !== contextHash(join(repoRoot, 'scripts', 'images', i.key));
    });
    expect(stale.map((i) => i.local), 'stand-ins older than scripts/images: run `npm run setup`').toEqual([]);
    const pidFile = '/var/run/docker.pid';
    const enginePid = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : undefined;

    rmSync(machineEnv, { force: true });
    const r = await pier(['setup', '--json']);
    expect(r.status, r.stderr).toBe(0);
    // Only records: nothing installed, started, pulled or built.
    expect(r.stderr).not.toMatch(/installing|starting dockerd|building|not reachable/);
    const result = JSON.parse(r.stdout) as { images: Record<string, string>; written: string[]; engine: string };
    expect(result.written).toEqual([machineEnv]);
    expect(result.images).toEqual(expected);
    expect(parseDotenv(readFileSync(machineEnv))).toEqual(expected);
    if (enginePid) expect(readFileSync(pidFile, 'utf8').trim(), 'the engine was restarted').toBe(enginePid);

    // A compose call from the project: `pier env up dev` passes the machine file to compose.
    writePierYaml();
    mkdirSync(join(app, 'environments'), { recursive: true });
    writeFileSync(join(app, 'environments', 'dev.yaml'), 'compose: [compose.yaml]\n');
    writeFileSync(join(app, 'compose.yaml'), 'services:\n  tool:\n    image: ${PIER_NODE_IMAGE:-node:22-bookworm-slim}\n    command: [sleep, "120"]\n    init: true\n');
    cleanup.push(() => void spawnSync('docker', ['compose', '-p', 'userapp-dev', '-f', join(app, 'compose.yaml'), 'down', '--timeout', '1']));
    const up = await pier(['env', 'up', 'dev', '--json']);
    expect(up.status, up.stderr).toBe(0);
    const image = execFileSync('docker', ['inspect', '--format', '{{.Config.Image}}', 'userapp-dev-tool-1'], { encoding: 'utf8' }).trim();
    expect(image).toBe(expected.PIER_NODE_IMAGE);
    const down = await pier(['env', 'down', 'dev']);
    expect(down.status, down.stderr).toBe(0);
    rmSync(join(app, 'compose.yaml'));
    rmSync(join(app, 'environments'), { recursive: true });
  }, 180_000);

  it('publish to a 127.0.0.1 registry starts the registry image the machine file names', async () => {
    const port = await freePort();
    writePierYaml(port);
    writeFileSync(machineEnv, `PIER_NODE_IMAGE=${nodeImage}\nPIER_REGISTRY_IMAGE=${registryImage}\n`);
    const container = `pier-registry-${port}`;
    cleanup.push(() => void spawnSync('docker', ['rm', '--force', '--volumes', container]));
    const r = await pier(['publish', '--engine', 'docker', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { stages: { name: string; status: string; figures: Record<string, unknown> }[] };
    const build = report.stages.find((s) => s.name === 'build')!;
    expect(build.figures).toMatchObject({ version: '0.3.1', versionSource: 'pyproject.toml', tag: '0.3.1-nogit' });
    cleanup.push(() => void spawnSync('docker', ['image', 'rm', 'pier-packaged/userapp:0.3.1-nogit', `127.0.0.1:${port}/pier-packaged/userapp:0.3.1-nogit`]));
    expect(report.stages.find((s) => s.name === 'publish')?.status).toBe('passed');
    const image = execFileSync('docker', ['inspect', '--format', '{{.Config.Image}}', container], { encoding: 'utf8' }).trim();
    expect(image).toBe(registryImage);
  }, 180_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
