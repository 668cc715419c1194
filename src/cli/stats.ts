import { parseDuration } from '../analysis/duration.ts';
import { withHosts } from '../deploy/fleet.ts';
import { computeDora, renderDora, renderPrometheus, shaOfVersion, type HostRecords } from '../stats/dora.ts';
import { exec } from '../util/exec.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier stats <env> [--since 30d] [--json | --format prometheus] [--config FILE]

DORA figures from the environment's own records (every host's release history and audit log, and
git for commit times): deployment frequency, lead time for changes, change failure rate, time to
restore, deploy and rollback durations. Read-only: takes no lock.

  --since D            window ending now (default 30d; 12h, 7d, ...)
  --format prometheus  text exposition for node-exporter's textfile collector`;

/** Commit times (ms) of the shas, from git in the project (unknown ones are left out). */
async function commitTimes(root: string, shas: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(
    shas.map(async (sha) => {
      const r = await exec(['git', 'show', '-s', '--format=%ct', `${sha}^{commit}`], { cwd: root, nothrow: true });
      const t = Number(r.stdout.trim());
      if (r.code === 0 && t > 0) out.set(sha, t * 1000);
    }),
  );
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, since: { type: 'string' }, format: { type: 'string' } });
  if (values.help) return console.log(help), 0;
  const seconds = parseDuration(values.since ?? '30d');
  if (seconds === undefined || seconds <= 0) throw new UsageError(`--since: "${values.since}" is not a duration (e.g. 30d, 12h)`);
  if (values.format !== undefined && values.format !== 'prometheus') throw new UsageError(`--format: "${values.format}" is not a format (prometheus)`);
  const target = targetFor(positionals[0], values.config, 'stats');
  const hosts: HostRecords[] = await withHosts(target, (ops) => Promise.all(ops.map(async (o) => ({ host: o.name, releases: await o.readReleases(), audit: await o.readAudit() }))));
  const shas = [...new Set(hosts.flatMap((h) => h.releases.map((r) => shaOfVersion(r.version)).filter((s): s is string => Boolean(s))))];
  const until = Date.now();
  const stats = computeDora(target.envName, hosts, await commitTimes(target.root, shas), { since: until - seconds * 1000, until });
  if (values.format === 'prometheus') process.stdout.write(renderPrometheus(stats, target.app));
  else if (values.json) printJson(stats);
  else console.log(renderDora(stats));
  return 0;
}
