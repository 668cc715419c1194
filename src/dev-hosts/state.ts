/**
 * What `pier dev-hosts up` tells the user and later `down`: the fleet's addresses, recorded in
 * `.pier/dev-hosts.json` of the directory it was started in, and the environment file it wrote.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { UsageError } from '../util/errors.ts';
import { fleetEnvironment } from './environment.ts';
import type { Fleet } from './fleet.ts';

export const ENV_MARKER = '# written by `pier dev-hosts up`; removed by its teardown';

export interface DevHostsState {
  runId: string;
  pid: number;
  dir: string;
  keyFile: string;
  /** Push images here from this machine; the hosts pull them as `reg:5000/<repo>:<tag>`. */
  registry: string;
  loadBalancer: string;
  hosts: { name: string; address: string; port: number; hostKey: string }[];
  envFile?: string;
}

export function stateFile(cwd: string): string {
  return join(cwd, '.pier', 'dev-hosts.json');
}

export function fleetState(fleet: Fleet, envFile?: string): DevHostsState {
  return {
    runId: fleet.runId,
    pid: process.pid,
    dir: fleet.dir,
    keyFile: fleet.keyFile,
    registry: `127.0.0.1:${fleet.registryPort}`,
    loadBalancer: `http://127.0.0.1:${fleet.lbPort}`,
    hosts: fleet.hosts.map((h) => ({ name: h.name, address: '127.0.0.1', port: h.sshPort, hostKey: h.fingerprint })),
    ...(envFile ? { envFile } : {}),
  };
}

export function writeState(cwd: string, state: DevHostsState): void {
  mkdirSync(join(cwd, '.pier'), { recursive: true });
  writeFileSync(stateFile(cwd), `${JSON.stringify(state, null, 2)}\n`);
}

export function readState(cwd: string): DevHostsState | undefined {
  const f = stateFile(cwd);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as DevHostsState) : undefined;
}

/** True when `file` is absent or was written by dev-hosts (a user's file is never overwritten). */
export function ownsEnvFile(file: string): boolean {
  return !existsSync(file) || readFileSync(file, 'utf8').startsWith(ENV_MARKER);
}

/** Write `environments/<name>.yaml` for the fleet; refuses (exit 2) to overwrite a user's file. */
export function writeEnvFile(file: string, fleet: Fleet): void {
  if (!ownsEnvFile(file)) throw new UsageError(`${file} exists and was not written by pier dev-hosts: not overwriting it`, 'pick another --env name, or remove the file');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${ENV_MARKER}\n${stringify(fleetEnvironment(fleet))}`);
}

export function removeEnvFile(file: string | undefined): void {
  if (file && existsSync(file) && ownsEnvFile(file)) rmSync(file);
}
