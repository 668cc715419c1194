#!/usr/bin/env node
// Entry point. An installed package runs the compiled JavaScript in dist/ (no TypeScript compiler
// at run time; figures in the README, "Use pier in your app"). A development checkout (src/ beside
// dist/) runs dist/ only while it is at least as new as every file under src/; otherwise it loads
// src/ through tsx, so an edit is never masked by a stale build. `pier --version` reads
// package.json and loads no module of pier's (main() answers it the same way for its callers).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

// `pier status | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const built = new URL('../dist/cli/main.js', import.meta.url);
const src = new URL('../src/', import.meta.url);

/** Newest modification time under a directory (a development checkout only: ~100 files). */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(`${e.parentPath ?? e.path}/${e.name}`).mtimeMs);
  }
  return t;
}

function useBuilt() {
  if (!existsSync(built)) return false;
  if (!existsSync(src)) return true;
  return statSync(built).mtimeMs >= newest(src.pathname);
}

async function load() {
  if (useBuilt()) return (await import(built.href)).main;
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error('pier: dist/ is missing or older than src/, and tsx is not installed: run `npm run build` (or `npm ci` in a checkout)');
    process.exit(3);
  }
  register();
  return (await import('../src/cli/main.ts')).main;
}

const argv = process.argv.slice(2);
if (['--version', '-V', 'version'].includes(argv[0])) {
  console.log(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
} else {
  const main = await load();
  process.exitCode = await main(argv);
}
