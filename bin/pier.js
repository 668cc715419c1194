#!/usr/bin/env node
// Entry point. An installed package runs the compiled JavaScript in dist/ (no TypeScript compiler
// at run time: `pier --version` in ~0.05 s instead of ~0.27 s). A development checkout (src/ beside
// dist/) runs dist/ only while it is at least as new as every file under src/; otherwise it loads
// src/ through tsx, so an edit is never masked by a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';

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

let main;
if (useBuilt()) {
  ({ main } = await import(built.href));
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error('pier: dist/ is missing or older than src/, and tsx is not installed: run `npm run build` (or `npm ci` in a checkout)');
    process.exit(3);
  }
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
