#!/usr/bin/env node
// pier setup: make sure a Docker engine with Compose v2 and buildx runs, and that every image pier
// uses exists, building local stand-ins where public registries cannot be reached.
//
// Idempotent and fast when everything is there. On Debian as root it installs what is missing
// (docker.io from bookworm, docker-compose and docker-buildx from trixie); elsewhere it says what is
// missing and exits 1. Image choices go to the git-ignored root `.env`, which `docker compose`
// reads on its own and pier's config loader reads too, so no command needs extra flags.
import { $, fs, path, os } from 'zx';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';

$.verbose = false;
$.quiet = true;

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const imagesDir = path.join(root, 'scripts', 'images');
const envFile = path.join(root, '.env');
const started = Date.now();
const log = (msg) => console.log(`setup: ${msg}`);
const fail = (msg) => {
  console.error(`setup: ${msg}`);
  process.exit(1);
};

/** Public default -> env var -> local stand-in. Committed files always name the public image. */
export const IMAGES = [
  { key: 'node', env: 'PIER_NODE_IMAGE', public: 'node:22-bookworm-slim', local: 'pier.local/node:20-bookworm' },
  { key: 'postgres', env: 'PIER_POSTGRES_IMAGE', public: 'postgres:16', local: 'pier.local/postgres:15' },
  { key: 'redis', env: 'PIER_REDIS_IMAGE', public: 'redis:7', local: 'pier.local/redis:7' },
  { key: 'nginx', env: 'PIER_NGINX_IMAGE', public: 'nginx:1.27', local: 'pier.local/nginx:1.22' },
  { key: 'registry', env: 'PIER_REGISTRY_IMAGE', public: 'registry:2', local: 'pier.local/registry:2' },
  { key: 'prometheus', env: 'PIER_PROMETHEUS_IMAGE', public: 'prom/prometheus:v2.53.0', local: 'pier.local/prometheus:2' },
  // The simulated production host has no public image: it is built from Debian either way.
  { key: 'sshhost', env: 'PIER_SSHHOST_IMAGE', public: 'pier/sshhost:bookworm', local: 'pier.local/sshhost:bookworm' },
];
const BASE_PUBLIC = 'debian:bookworm';
const BASE_LOCAL = 'pier.local/debian:bookworm';

async function ok(cmd) {
  try {
    await cmd;
    return true;
  } catch {
    return false;
  }
}
const isRoot = process.getuid?.() === 0;
const isDebian = fs.existsSync('/etc/debian_version');
const canInstall = isRoot && isDebian;
const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

async function aptInstall(pkgs) {
  log(`installing ${pkgs.join(' ')} (apt)`);
  await $({ env: aptEnv })`apt-get update -qq`;
  await $({ env: aptEnv })`apt-get install -y -qq --no-install-recommends ${pkgs}`;
}

async function ensureEngine() {
  if (!(await ok($`docker --version`))) {
    if (!canInstall) fail('no docker CLI on PATH. Install Docker Engine (https://docs.docker.com/engine/install/) and re-run.');
    await aptInstall(['docker.io']);
  }
  if (await ok($`timeout 10 docker info`)) return;
  if (!(await ok($`which dockerd`))) {
    if (!canInstall) fail('no Docker engine is running and dockerd is not installed. Start Docker Desktop or install Docker Engine, then re-run.');
    await aptInstall(['docker.io']);
  }
  if (!isRoot) fail('the Docker engine is not running and starting dockerd needs root. Start it (e.g. `sudo systemctl start docker`) and re-run.');
  log('starting dockerd (log: /var/log/dockerd.log)');
  // Detached with its own session and no pipes back to us, so it outlives this script.
  const out = fs.openSync('/var/log/dockerd.log', 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', out, out] }).unref();
  for (let i = 0; i < 60; i++) {
    if (await ok($`timeout 5 docker info`)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  fail('dockerd did not become ready within 30 s; see /var/log/dockerd.log');
}

async function ensurePlugins() {
  const compose = await ok($`docker compose version`);
  const buildx = await ok($`docker buildx version`);
  if (compose && buildx) return;
  const missing = [!compose && 'docker compose v2', !buildx && 'docker buildx'].filter(Boolean).join(' and ');
  if (!canInstall) fail(`${missing} missing. Install the docker-compose-plugin and docker-buildx-plugin packages and re-run.`);
  // Neither is in bookworm; trixie's builds are static Go binaries that install cleanly on
  // bookworm. Use a private sources list so the system's apt configuration is untouched.
  log(`installing ${missing} from Debian trixie`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'pier-trixie-'));
  const uri = (await fs.readFile('/etc/apt/sources.list.d/debian.sources', 'utf8').catch(() => ''))
    .match(/^URIs:\s*(\S+)/m)?.[1] ?? 'http://deb.debian.org/debian';
  await fs.mkdirp(path.join(work, 'lists', 'partial'));
  await fs.writeFile(path.join(work, 'trixie.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${uri} trixie main\n`);
  const opts = ['-o', `Dir::Etc::SourceList=${path.join(work, 'trixie.list')}`, '-o', 'Dir::Etc::SourceParts=/dev/null', '-o', `Dir::State::Lists=${path.join(work, 'lists')}`];
  await $({ env: aptEnv })`apt-get ${opts} update -qq`;
  const pkgs = [!compose && 'docker-compose', !buildx && 'docker-buildx'].filter(Boolean);
  await $({ cwd: work, env: aptEnv })`apt-get ${opts} download ${pkgs}`;
  const debs = (await fs.readdir(work)).filter((f) => f.endsWith('.deb')).map((f) => path.join(work, f));
  await $`dpkg -i --force-depends ${debs}`;
  await fs.remove(work);
  if (!(await ok($`docker compose version`)) || !(await ok($`docker buildx version`))) fail('compose/buildx still missing after install');
}

const imageExists = (ref) => ok($`docker image inspect ${ref}`);
const imageLabel = async (ref, label) =>
  (await $`docker image inspect -f ${`{{ index .Config.Labels "${label}" }}`} ${ref}`.nothrow()).stdout.trim();

let registryReachable;
/** One short pull attempt decides whether public images can be had; the answer is reused. */
async function canPull(ref) {
  if (registryReachable === undefined) {
    registryReachable = await ok($`timeout 20 docker pull -q ${ref}`);
    if (!registryReachable) log('public registry not reachable: building local stand-ins (pier.local/*)');
    return registryReachable;
  }
  return registryReachable && (await ok($`timeout 120 docker pull -q ${ref}`));
}

async function ensureBase() {
  if (await imageExists(BASE_LOCAL)) return BASE_LOCAL;
  if (process.env.PIER_PREFER_PUBLIC && (await imageExists(BASE_PUBLIC))) return BASE_PUBLIC;
  if (!(await ok($`which mmdebstrap`))) {
    if (!canInstall) fail('mmdebstrap is needed to build a Debian base image without a registry');
    await aptInstall(['mmdebstrap']);
  }
  log(`building ${BASE_LOCAL} with mmdebstrap`);
  await $`sh -c ${`mmdebstrap --quiet --variant=minbase bookworm - | docker import --change 'CMD ["/bin/bash"]' - ${BASE_LOCAL}`}`;
  return BASE_LOCAL;
}

/** Content hash of a stand-in's build context, so a changed Dockerfile triggers a rebuild. */
async function contextHash(dir) {
  const h = createHash('sha256');
  for (const f of (await fs.readdir(dir)).sort()) {
    const p = path.join(dir, f);
    if ((await fs.stat(p)).isFile()) h.update(f).update(await fs.readFile(p));
  }
  return h.digest('hex').slice(0, 16);
}

async function buildStandIn(img, base) {
  const dir = path.join(imagesDir, img.key);
  const hash = await contextHash(dir);
  if ((await imageExists(img.local)) && (await imageLabel(img.local, 'pier.image.hash')) === hash) return false;
  log(`building ${img.local}`);
  let ctx = dir;
  if (img.key === 'node') {
    // The Node stand-in carries the host's own node and npm (no registry needed).
    ctx = await fs.mkdtemp(path.join(os.tmpdir(), 'pier-node-'));
    await fs.copy(dir, ctx);
    await fs.copy(process.execPath, path.join(ctx, 'node'));
    const npmDir = ['/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm', path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')].find((d) => fs.existsSync(d));
    if (!npmDir) fail('cannot find the host npm to copy into the node stand-in');
    await fs.copy(npmDir, path.join(ctx, 'npm'), { dereference: true });
  }
  await $`docker buildx build --load -q --build-arg ${`BASE=${base}`} --label ${`pier.image.hash=${hash}`} -t ${img.local} ${ctx}`;
  if (ctx !== dir) await fs.remove(ctx);
  return true;
}

async function ensureImages() {
  const chosen = {};
  let base;
  for (const img of IMAGES) {
    if (img.key !== 'sshhost' && ((await imageExists(img.public)) || (!(await imageExists(img.local)) && (await canPull(img.public))))) {
      chosen[img.env] = img.public;
      continue;
    }
    base ??= await ensureBase();
    await buildStandIn(img, base);
    chosen[img.env] = img.local;
  }
  return chosen;
}

/** Rewrite pier's block in the root .env, keeping any lines the user wrote. */
async function writeEnv(chosen) {
  const begin = '# >>> pier setup (generated by npm run setup; do not edit this block)';
  const end = '# <<< pier setup';
  const old = (await fs.readFile(envFile, 'utf8').catch(() => '')).split('\n');
  const kept = [];
  let inBlock = false;
  for (const line of old) {
    if (line === begin) inBlock = true;
    else if (line === end) inBlock = false;
    else if (!inBlock) kept.push(line);
  }
  const block = [begin, ...Object.entries(chosen).map(([k, v]) => `${k}=${v}`), end];
  const body = [...kept.filter((l, i) => l !== '' || i < kept.length - 1), ...block].join('\n').replace(/^\n+/, '') + '\n';
  await fs.writeFile(envFile, body);
}

/** The example app's own dependencies, so its test suite also runs on the host (npm test). */
async function ensureExampleDeps() {
  const app = path.join(root, 'examples', 'api');
  const lock = path.join(app, 'package-lock.json');
  const stamp = path.join(app, 'node_modules', '.package-lock.json');
  if (!fs.existsSync(lock)) return;
  if (fs.existsSync(stamp) && (await fs.stat(stamp)).mtimeMs >= (await fs.stat(lock)).mtimeMs) return;
  log('installing examples/api dependencies (npm ci)');
  await $({ cwd: app })`npm ci --no-audit --no-fund`;
}

await ensureEngine();
await ensurePlugins();
const chosen = await ensureImages();
await writeEnv(chosen);
await ensureExampleDeps();
const ver = (await $`docker version -f {{.Server.Version}}`).stdout.trim();
const cv = (await $`docker compose version --short`).stdout.trim();
const bv = (await $`docker buildx version`).stdout.trim().split(' ')[1];
log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: engine ${ver}, compose ${cv}, buildx ${bv}; images in .env`);
