/**
 * The images pier uses: the public one when the engine has it or can pull it, else a local
 * stand-in (`pier.local/*`) built from Debian with the Dockerfiles the package carries
 * (scripts/images/<key>). A stand-in is rebuilt when its Dockerfile directory's content changes
 * (label `pier.image.hash`).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EnvironmentError } from '../util/errors.ts';
import { exec } from '../util/exec.ts';
import { findOnPath } from '../util/find-on-path.ts';
import { packageRoot } from '../util/package-root.ts';
import { BASE_IMAGE, IMAGES, type ImageChoice } from '../machine/images.ts';
import { ok, type Log } from './host.ts';

export const imagesDir = join(packageRoot, 'scripts', 'images');

const imageExists = (ref: string) => ok(['docker', 'image', 'inspect', ref]);

async function imageLabel(ref: string, label: string): Promise<string> {
  const r = await exec(['docker', 'image', 'inspect', '-f', `{{ index .Config.Labels "${label}" }}`, ref], { nothrow: true });
  return r.stdout.trim();
}

/** Content hash of a stand-in's build context (file names and bytes, sorted; pure over the files). */
export function contextHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isFile()) h.update(f).update(readFileSync(p));
  }
  return h.digest('hex').slice(0, 16);
}

export class StandIns {
  private registryReachable: boolean | undefined;
  private base: string | undefined;

  constructor(private readonly log: Log) {}

  /** One short pull attempt decides whether public images can be had; the answer is reused. */
  private async canPull(ref: string): Promise<boolean> {
    if (this.registryReachable === undefined) {
      this.registryReachable = await ok(['docker', 'pull', '-q', ref], 20_000);
      if (!this.registryReachable) this.log('public registry not reachable: building local stand-ins (pier.local/*)');
      return this.registryReachable;
    }
    return this.registryReachable && (await ok(['docker', 'pull', '-q', ref], 120_000));
  }

  private async ensureBase(): Promise<string> {
    if (this.base) return this.base;
    if (await imageExists(BASE_IMAGE.local)) return (this.base = BASE_IMAGE.local);
    if (process.env.PIER_PREFER_PUBLIC && (await imageExists(BASE_IMAGE.public))) return (this.base = BASE_IMAGE.public);
    if (!findOnPath('mmdebstrap')) {
      if (!(process.getuid?.() === 0 && existsSync('/etc/debian_version'))) {
        throw new EnvironmentError('mmdebstrap is needed to build a Debian base image without a registry', 'install mmdebstrap (Debian/Ubuntu) and re-run pier setup');
      }
      this.log('installing mmdebstrap (apt)');
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      await exec(['apt-get', 'update', '-qq'], { env });
      await exec(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'mmdebstrap'], { env });
    }
    this.log(`building ${BASE_IMAGE.local} with mmdebstrap`);
    // The one pipe: the image name goes in as a positional parameter, never into the script text.
    await exec(['sh', '-c', 'mmdebstrap --quiet --variant=minbase bookworm - | docker import --change \'CMD ["/bin/bash"]\' - "$1"', 'sh', BASE_IMAGE.local]);
    return (this.base = BASE_IMAGE.local);
  }

  /** Build a stand-in unless the engine has one built from the same Dockerfile content; true when built. */
  private async build(img: ImageChoice): Promise<boolean> {
    const dir = join(imagesDir, img.key);
    const hash = contextHash(dir);
    if ((await imageExists(img.local)) && (await imageLabel(img.local, 'pier.image.hash')) === hash) return false;
    const base = await this.ensureBase();
    this.log(`building ${img.local}`);
    let ctx = dir;
    if (img.key === 'node') {
      // The Node stand-in carries the host's own node and npm (no registry needed).
      ctx = mkdtempSync(join(tmpdir(), 'pier-node-'));
      cpSync(dir, ctx, { recursive: true });
      cpSync(process.execPath, join(ctx, 'node'));
      const npmDir = ['/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm', join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')].find((d) => existsSync(d));
      if (!npmDir) throw new EnvironmentError('cannot find the host npm to copy into the node stand-in');
      cpSync(npmDir, join(ctx, 'npm'), { recursive: true, dereference: true });
    }
    try {
      await exec(['docker', 'buildx', 'build', '--load', '-q', '--build-arg', `BASE=${base}`, '--label', `pier.image.hash=${hash}`, '-t', img.local, ctx]);
    } finally {
      if (ctx !== dir) rmSync(ctx, { recursive: true, force: true });
    }
    return true;
  }

  /** Every image's choice as `PIER_X_IMAGE=ref` (the variables compose files and pier.yaml read). */
  async ensureAll(): Promise<Record<string, string>> {
    const chosen: Record<string, string> = {};
    for (const img of IMAGES) {
      if (img.key !== 'sshhost' && ((await imageExists(img.public)) || (!(await imageExists(img.local)) && (await this.canPull(img.public))))) {
        chosen[img.env] = img.public;
        continue;
      }
      await this.build(img);
      chosen[img.env] = img.local;
    }
    // Apps built on Debian (pier init writes `${PIER_DEBIAN_IMAGE:-debian:bookworm}`) use the same base.
    const publicBase = (await imageExists(BASE_IMAGE.public)) || (!(await imageExists(BASE_IMAGE.local)) && (await this.canPull(BASE_IMAGE.public)));
    chosen[BASE_IMAGE.env] = publicBase ? BASE_IMAGE.public : await this.ensureBase();
    return chosen;
  }
}
