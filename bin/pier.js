#!/usr/bin/env node
// Entry point: load TypeScript sources through tsx so `npx pier` runs the code as checked in.
import { register } from 'tsx/esm/api';

// `pier status | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
