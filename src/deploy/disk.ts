/**
 * A host's disk as facts and the preflight's verdict on it (pure): free space and inodes under
 * pier's directory and Docker's data root (`commands/host.ts` diskUsage), the floors
 * `deploy.minFreeMb` / `deploy.minFreeInodesPercent`, and the message of a refusal: what uses the
 * space (`docker system df`) and how to free it.
 */

/** One filesystem pier depends on, as `df` saw it. */
export interface DiskFacts {
  /** The directory looked at (pier's dir or its nearest existing parent; Docker's data root). */
  path: string;
  /** What it is to pier: its own directory or Docker's data root (images, containers, logs). */
  role: 'dir' | 'docker';
  mount: string;
  freeMb: number;
  totalMb: number;
  freeInodes: number;
  totalInodes: number;
  /** Percent of inodes free; undefined when the filesystem has no inode count (btrfs, some overlays). */
  freeInodesPercent?: number;
}

/** diskUsage output -> facts; the data root is dropped when it is the same filesystem as pier's dir. */
export function parseDiskUsage(out: string): DiskFacts[] {
  const facts: DiskFacts[] = [];
  for (const [i, line] of out.split('\n').filter((l) => l.trim()).entries()) {
    const [path = '', free, total, ifree, itotal, ...mount] = line.trim().split(/\s+/);
    const n = [free, total, ifree, itotal].map(Number);
    if (n.some((x) => !Number.isFinite(x))) continue;
    const [freeKb, totalKb, freeInodes, totalInodes] = n as [number, number, number, number];
    const same = facts.find((f) => f.freeMb === Math.floor(freeKb / 1024) && f.totalMb === Math.floor(totalKb / 1024) && f.freeInodes === freeInodes && f.totalInodes === totalInodes);
    if (same) continue;
    facts.push({
      path, role: i === 0 ? 'dir' : 'docker', mount: mount.join(' '),
      freeMb: Math.floor(freeKb / 1024), totalMb: Math.floor(totalKb / 1024), freeInodes, totalInodes,
      ...(totalInodes > 0 ? { freeInodesPercent: Math.round((freeInodes / totalInodes) * 1000) / 10 } : {}),
    });
  }
  return facts;
}

/** The floors (deploy.minFreeMb, deploy.minFreeInodesPercent). */
export interface DiskFloor {
  minFreeMb: number;
  minFreeInodesPercent: number;
}

/** Each filesystem below a floor, said in words ('' list when all is well). */
export function belowFloor(facts: readonly DiskFacts[], floor: DiskFloor): string[] {
  const problems: string[] = [];
  for (const f of facts) {
    const where = `${f.path}${f.role === 'docker' ? " (Docker's data root)" : ''}`;
    if (f.freeMb < floor.minFreeMb) problems.push(`only ${f.freeMb} MB free under ${where}; need ${floor.minFreeMb} MB (deploy.minFreeMb)`);
    if (f.freeInodesPercent !== undefined && f.freeInodesPercent < floor.minFreeInodesPercent) {
      problems.push(`only ${f.freeInodesPercent}% of inodes free under ${where} (${f.freeInodes} of ${f.totalInodes}); need ${floor.minFreeInodesPercent}% (deploy.minFreeInodesPercent)`);
    }
  }
  return problems;
}

/** One line of `docker system df`: what a kind of Docker data takes and what could go. */
export interface DockerUse {
  type: string;
  size: string;
  reclaimable: string;
}

export function parseSystemDf(out: string): DockerUse[] {
  return out
    .split('\n')
    .map((l) => l.split('\t'))
    .filter((p) => p.length >= 3 && p[0]!.trim())
    .map(([type, size, reclaimable]) => ({ type: type!.trim(), size: size!.trim(), reclaimable: reclaimable!.trim() }));
}

/** The refusal for one host: the problems, what uses the space, how to free it. */
export function refusalMessage(host: string, problems: readonly string[], use: readonly DockerUse[] | undefined, env: string): string {
  const uses = use?.length ? `; Docker uses ${use.map((u) => `${u.type.toLowerCase()} ${u.size} (${u.reclaimable} reclaimable)`).join(', ')}` : '';
  return `${host}: ${problems.join('; ')}${uses}; free space with pier prune ${env} (stopped releases beyond deploy.keepReleases, unused images of the app; --dry-run lists them), or docker builder prune / docker volume prune on the host for what pier does not own`;
}

/** Status line: `/var/lib/pier 1234 MB free of 5000 MB, 91% inodes free`. */
export function describeDisk(f: DiskFacts): string {
  return `${f.path}${f.role === 'docker' ? ' (docker)' : ''}: ${f.freeMb} MB free of ${f.totalMb} MB${f.freeInodesPercent !== undefined ? `, ${f.freeInodesPercent}% inodes free` : ''}`;
}
