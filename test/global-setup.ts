// Integration tests use the real Docker engine: when it is down, bring it up through the same
// setup script users run (`npm run setup`), so a fresh machine's `npm test` works on its own.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    console.log('global-setup: no Docker engine answers; running npm run setup');
    execFileSync('node', ['scripts/setup.mjs'], { stdio: 'inherit' });
  }
}
