/**
 * The per-user machine file, `${XDG_CONFIG_HOME:-~/.config}/pier/machine.env`: what `pier setup`
 * found or built on this machine (image stand-ins), seen by pier in every repository. It sits
 * under a repo's `.env` and the process environment (see interpolationVars in config/load.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { upsertBlock } from './env-block.ts';

export function machineFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'pier', 'machine.env');
}

/** Variables of the machine file ({} when there is none). */
export function readMachineVars(file = machineFile()): Record<string, string> {
  return existsSync(file) ? parseDotenv(readFileSync(file)) : {};
}

/** Write pier's block into a dotenv file (the machine file or a repo's `.env`), keeping other lines. */
export function writeEnvBlock(file: string, vars: Record<string, string>): void {
  mkdirSync(dirname(file), { recursive: true });
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, upsertBlock(old, vars));
}
