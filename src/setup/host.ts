/**
 * Host prerequisites for `pier setup`: a running Docker engine, `docker compose` v2 and
 * `docker buildx`. On Debian as root the missing parts are installed (docker.io from the system's
 * suite; compose and buildx, absent from bookworm, from trixie through a private sources list so
 * the system's apt configuration is untouched). Elsewhere it says what is missing (exit 3).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../util/errors.ts';
import { exec } from '../util/exec.ts';
import { findOnPath } from '../util/find-on-path.ts';
import { notYet, poll } from '../util/poll.ts';

export type Log = (msg: string) => void;

/** True when the command exits 0 within the time (a missing binary is false too). */
export async function ok(argv: string[], timeoutMs = 30_000): Promise<boolean> {
  try {
    return (await exec(argv, { nothrow: true, timeoutMs })).code === 0;
  } catch {
    return false;
  }
}

const isRoot = () => process.getuid?.() === 0;
const canInstall = () => isRoot() && existsSync('/etc/debian_version');
const aptEnv = () => ({ ...process.env, DEBIAN_FRONTEND: 'noninteractive' });

async function aptInstall(pkgs: string[], log: Log): Promise<void> {
  log(`installing ${pkgs.join(' ')} (apt)`);
  await exec(['apt-get', 'update', '-qq'], { env: aptEnv() });
  await exec(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env: aptEnv() });
}

export async function ensureEngine(log: Log): Promise<void> {
  if (!(await ok(['docker', '--version']))) {
    if (!canInstall()) throw new EnvironmentError('no docker CLI on PATH', 'install Docker Engine (https://docs.docker.com/engine/install/) and re-run pier setup');
    await aptInstall(['docker.io'], log);
  }
  if (await ok(['docker', 'info'], 10_000)) return;
  if (!findOnPath('dockerd')) {
    if (!canInstall()) throw new EnvironmentError('no Docker engine is running and dockerd is not installed', 'start Docker Desktop or install Docker Engine, then re-run pier setup');
    await aptInstall(['docker.io'], log);
  }
  if (!isRoot()) throw new EnvironmentError('the Docker engine is not running and starting dockerd needs root', 'start it (e.g. `sudo systemctl start docker`) and re-run pier setup');
  log('starting dockerd (log: /var/log/dockerd.log)');
  // Detached in its own session with no pipes back to us, so it outlives this process.
  const out = openSync('/var/log/dockerd.log', 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', out, out] }).unref();
  await poll('dockerd', async () => ((await ok(['docker', 'info'], 5_000)) ? true : notYet('docker info failed')), {
    timeoutMs: 30_000,
    intervalMs: 500,
    onGiveUp: (e) => new EnvironmentError(`dockerd did not become ready within 30 s (${e.attempts} attempts of docker info)`, 'see /var/log/dockerd.log'),
  });
}

/** The apt options that read only a private trixie sources list (pure). */
export function trixieAptOptions(work: string): string[] {
  return ['-o', `Dir::Etc::SourceList=${join(work, 'trixie.list')}`, '-o', 'Dir::Etc::SourceParts=/dev/null', '-o', `Dir::State::Lists=${join(work, 'lists')}`];
}

export async function ensurePlugins(log: Log): Promise<void> {
  const compose = await ok(['docker', 'compose', 'version']);
  const buildx = await ok(['docker', 'buildx', 'version']);
  if (compose && buildx) return;
  const missing = [!compose && 'docker compose v2', !buildx && 'docker buildx'].filter(Boolean).join(' and ');
  if (!canInstall()) throw new EnvironmentError(`${missing} missing`, 'install the docker-compose-plugin and docker-buildx-plugin packages and re-run pier setup');
  log(`installing ${missing} from Debian trixie`);
  const work = mkdtempSync(join(tmpdir(), 'pier-trixie-'));
  try {
    const sources = existsSync('/etc/apt/sources.list.d/debian.sources') ? readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8') : '';
    const uri = /^URIs:\s*(\S+)/m.exec(sources)?.[1] ?? 'http://deb.debian.org/debian';
    mkdirSync(join(work, 'lists', 'partial'), { recursive: true });
    writeFileSync(join(work, 'trixie.list'), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${uri} trixie main\n`);
    const opts = trixieAptOptions(work);
    await exec(['apt-get', ...opts, 'update', '-qq'], { env: aptEnv() });
    const pkgs = [!compose && 'docker-compose', !buildx && 'docker-buildx'].filter((p): p is string => Boolean(p));
    await exec(['apt-get', ...opts, 'download', ...pkgs], { cwd: work, env: aptEnv() });
    const debs = readdirSync(work).filter((f) => f.endsWith('.deb')).map((f) => join(work, f));
    await exec(['dpkg', '-i', '--force-depends', ...debs]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (!(await ok(['docker', 'compose', 'version'])) || !(await ok(['docker', 'buildx', 'version']))) {
    throw new EnvironmentError('docker compose or buildx still missing after installing them');
  }
}

/** `engine 20.10.24, compose 2.26.1, buildx v0.13.1` */
export async function versions(): Promise<{ engine: string; compose: string; buildx: string }> {
  const engine = (await exec(['docker', 'version', '-f', '{{.Server.Version}}'])).stdout.trim();
  const compose = (await exec(['docker', 'compose', 'version', '--short'])).stdout.trim();
  const buildx = (await exec(['docker', 'buildx', 'version'])).stdout.trim().split(' ')[1] ?? '?';
  return { engine, compose, buildx };
}
