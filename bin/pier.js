#!/usr/bin/env node
// Entry point: load TypeScript sources through tsx so `npx pier` runs the code as checked in.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
