/**
 * Where the database runs, as one small interface: run argv inside its container and move a file
 * in or out of it. Local containers (and compose services, resolved to their container) go through
 * the local Docker CLI; a container on a host goes through the deploy's SSH session.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { composeArgv, type ComposeTarget } from '../compose/commands.ts';
import { shScript } from '../deploy/commands/shell.ts';
import type { HostSession } from '../deploy/executor.ts';
import { exec } from '../util/exec.ts';
import { EnvironmentError } from '../util/errors.ts';
import { redact } from '../util/redact.ts';

export interface DbRunner {
  /** For messages: `container pg (local)`, `pg on web1`. */
  readonly where: string;
  /** Run `argv` inside the database container; stdout. */
  exec(argv: readonly string[], timeoutMs?: number): Promise<string>;
  /**
   * Run `argv` inside the database container with its stdout (binary) streamed into a new local
   * file (mode 0600) as it is produced: a dump leaves the host while pg_dump is still writing.
   */
  execToFile(argv: readonly string[], localFile: string, timeoutMs?: number): Promise<void>;
  /** Copy a file out of the container to a local path. */
  copyOut(containerPath: string, localFile: string): Promise<void>;
  /** Copy a local file into the container. */
  copyIn(localFile: string, containerPath: string): Promise<void>;
}

/** argv of `docker exec` into `container`. */
export const dockerExec = (container: string, argv: readonly string[], interactive = false): string[] => ['docker', 'exec', ...(interactive ? ['--interactive'] : []), container, ...argv];

/** A container on the local Docker engine. */
export function localContainer(container: string, label = `container ${container}`): DbRunner {
  return {
    where: label,
    async exec(argv, timeoutMs) {
      return (await exec(dockerExec(container, argv), { timeoutMs: timeoutMs ?? 600_000 })).stdout;
    },
    execToFile(argv, localFile, timeoutMs) {
      return spawnToFile(dockerExec(container, argv), localFile, timeoutMs ?? 600_000);
    },
    async copyOut(containerPath, localFile) {
      await exec(['docker', 'cp', `${container}:${containerPath}`, localFile]);
    },
    async copyIn(localFile, containerPath) {
      await exec(['docker', 'cp', localFile, `${container}:${containerPath}`]);
    },
  };
}

/** A service of a compose project (the staging stack's postgres), resolved to its running container. */
export async function composeService(target: ComposeTarget, service: string): Promise<DbRunner> {
  const r = await exec(composeArgv(target, 'ps', '--quiet', service), { nothrow: true });
  const id = r.stdout.trim().split('\n')[0];
  if (r.code !== 0 || !id) throw new EnvironmentError(`service ${service} of ${target.project} is not running`, `start the stack first: pier env up`);
  return localContainer(id, `service ${service} of ${target.project}`);
}

/**
 * A container on a host reached over SSH. The session returns text, so the dump comes out as
 * base64 in chunks of `chunkBytes` (memory stays bounded for large databases) and goes back in
 * as a stream on stdin.
 */
export function sshContainer(session: HostSession, container: string, o: { chunkBytes?: number } = {}): DbRunner {
  const chunk = o.chunkBytes ?? 8 * 1024 * 1024;
  return {
    where: `container ${container} on ${session.name}`,
    exec(argv, timeoutMs) {
      return session.run(dockerExec(container, argv), { timeoutMs: timeoutMs ?? 600_000 });
    },
    async execToFile(argv, localFile, timeoutMs) {
      const out = createWriteStream(localFile, { mode: 0o600 });
      try {
        await session.run(dockerExec(container, argv), { output: out, timeoutMs: timeoutMs ?? 600_000 });
      } finally {
        await closeStream(out);
      }
    },
    async copyOut(containerPath, localFile) {
      const size = Number((await session.run(dockerExec(container, ['stat', '-c', '%s', containerPath]))).trim());
      const out = await open(localFile, 'w', 0o600);
      try {
        for (let i = 0; i * chunk < size; i++) {
          const b64 = await session.run(dockerExec(container, readChunk(containerPath, chunk, i)), { timeoutMs: 600_000 });
          await out.write(Buffer.from(b64.trim(), 'base64'));
        }
      } finally {
        await out.close();
      }
    },
    async copyIn(localFile, containerPath) {
      await session.run(dockerExec(container, shScript('cat > "$1"', containerPath), true), { input: createReadStream(localFile), timeoutMs: 600_000 });
    },
  };
}

/** Chunk `index` (of `size` bytes) of a file as one line of base64. */
export function readChunk(file: string, size: number, index: number): string[] {
  return shScript('dd if="$1" bs="$2" skip="$3" count=1 status=none | base64 --wrap=0', file, String(size), String(index));
}

/** End a file stream and wait until every byte is written. */
function closeStream(out: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.destroyed) return resolve();
    out.end((err?: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** Run a local argv with stdout streamed into `localFile`; rejects with stderr's tail on a non-zero exit. */
function spawnToFile(argv: readonly string[], localFile: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(localFile, { mode: 0o600 });
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.stdout.pipe(out);
    let code: number | null = null;
    let pending = 2;
    const settle = (e?: Error) => {
      if (e) {
        clearTimeout(timer);
        return reject(e);
      }
      if (--pending > 0) return;
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new EnvironmentError(`${argv.slice(0, 4).join(' ')} failed (exit ${code}): ${redact(err.trim()).split('\n').slice(-8).join('\n')}`));
    };
    child.on('error', (e) => settle(e));
    out.on('error', (e) => settle(e));
    out.on('finish', () => settle());
    child.on('close', (c) => ((code = c), settle()));
  });
}
