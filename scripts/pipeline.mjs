#!/usr/bin/env node
// npm run pipeline: `npm run setup`, then `pier ci` on the bundled example app (pier.yaml).
// --allow-missing-scanner is added ONLY when no trivy can be obtained (no `trivy` on PATH, no
// pipeline.scan.binary, and the pinned trivy image is not in the local engine), and it says so.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });

const setup = run('node', ['scripts/setup.mjs']);
if (setup.status !== 0) process.exit(setup.status ?? 3);

const onPath = (name) =>
  (process.env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

const cfg = spawnSync('node', ['bin/pier.js', 'config', '--json'], { cwd: root, encoding: 'utf8' });
if (cfg.status !== 0) {
  process.stderr.write(cfg.stderr);
  process.exit(cfg.status ?? 2);
}
const scan = JSON.parse(cfg.stdout).pipeline.scan;
const imagePresent = spawnSync('docker', ['image', 'inspect', scan.image], { stdio: 'ignore' }).status === 0;
const haveTrivy = Boolean(scan.binary) || onPath('trivy') || imagePresent;

const args = ['bin/pier.js', 'ci', ...process.argv.slice(2)];
if (!haveTrivy) {
  console.log(`pipeline: no trivy here (no trivy on PATH, no pipeline.scan.binary, image ${scan.image} not in the local engine):`);
  console.log('pipeline: running `pier ci --allow-missing-scanner`, so the scan stage will be reported as SKIPPED.');
  args.push('--allow-missing-scanner');
} else {
  console.log('pipeline: trivy available: running `pier ci` with the scan gate on');
}
const ci = run('node', args);
process.exit(ci.status ?? 3);
