/**
 * `pier setup`: the engine, Compose v2 and buildx; the images pier uses (public or local
 * stand-ins); recorded in the per-user machine file that pier reads in every repository, and
 * optionally in a repo's `.env` too (so plain `docker compose` there picks the same images).
 * Idempotent: about a second when everything is in place.
 */
import { resolve } from 'node:path';
import { machineFile, writeEnvBlock } from '../machine/machine-file.ts';
import { ensureEngine, ensurePlugins, versions, type Log } from './host.ts';
import { StandIns } from './stand-ins.ts';

export interface SetupResult {
  engine: string;
  compose: string;
  buildx: string;
  images: Record<string, string>;
  /** Files the image choices were written to. */
  written: string[];
  seconds: number;
}

export async function setup(opts: { dotenv?: string[]; log: Log; env?: NodeJS.ProcessEnv }): Promise<SetupResult> {
  const started = Date.now();
  await ensureEngine(opts.log);
  await ensurePlugins(opts.log);
  const images = await new StandIns(opts.log).ensureAll();
  const written = [machineFile(opts.env), ...(opts.dotenv ?? []).map((f) => resolve(f))];
  for (const f of written) writeEnvBlock(f, images);
  const v = await versions();
  return { ...v, images, written, seconds: (Date.now() - started) / 1000 };
}
