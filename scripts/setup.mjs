#!/usr/bin/env node
// npm run setup (pier's own checkout): `pier setup --dotenv .env`, then the example app's
// dependencies. `pier setup` makes sure a Docker engine with Compose v2 and buildx runs and that
// every image pier uses exists (local stand-ins where public registries cannot be reached); it
// records the choices in the per-user machine file every repo sees and, here, also in the
// git-ignored root `.env`, which plain `docker compose` at the repo root reads on its own.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const r = spawnSync(process.execPath, [join(root, 'bin', 'pier.js'), 'setup', '--dotenv', join(root, '.env')], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 3);

// The example app's own dependencies, so its test suite also runs on the host (npm test).
const app = join(root, 'examples', 'api');
const lock = join(app, 'package-lock.json');
const stamp = join(app, 'node_modules', '.package-lock.json');
if (existsSync(lock) && !(existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs)) {
  console.log('setup: installing examples/api dependencies (npm ci)');
  const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: app, stdio: 'inherit' });
  if (npm.status !== 0) process.exit(npm.status ?? 3);
}
console.log(`setup: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
