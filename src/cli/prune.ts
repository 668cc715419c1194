import { prune, type PruneReport } from '../deploy/prune.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor, writeReport } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier prune <env> [--dry-run] [--config FILE] [--json]

Free disk on every host of environments/<env>.yaml: stopped release containers beyond
deploy.keepReleases (web and each role; never the current release or a running container), then
the app's images no container uses (never the proxy's or an accessory's image, never another
app's). Runs under the deploy lock (refused, naming the holder, while a deploy runs). A successful
deploy already removes unused images; this is for a host that filled up anyway.

  --dry-run   list per host what would go and the images' sizes; takes no lock, changes nothing

Exit: 0 done; 2 bad usage or config; 3 a host unreachable or failing, lock held.`;

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Human lines of a prune report (stdout). */
export function renderPrune(r: PruneReport): string {
  const lines: string[] = [];
  for (const h of r.hosts) {
    if (h.error) {
      lines.push(`${h.host}: failed: ${h.error}`);
      continue;
    }
    const images = r.dryRun ? h.images : h.images.filter((i) => i.deleted);
    lines.push(`${h.host}: ${r.dryRun ? 'would remove' : 'removed'} ${h.containers.length} container(s), ${images.length} image(s)${images.length ? `, up to ${mb(h.bytes)} (image sizes; layers shared with kept images stay)` : ''}`);
    for (const c of h.containers) lines.push(`  container ${c.name} (${c.role} ${c.release}, ${c.state})`);
    for (const i of images) lines.push(`  image ${i.refs.join(' ')} ${i.id.slice(0, 19)} ${mb(i.bytes)}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, 'dry-run': { type: 'boolean' } });
  if (values.help) return console.log(help), 0;
  const target = targetFor(positionals[0], values.config, 'prune');
  const report = await prune(target, { dryRun: values['dry-run'] });
  if (!report.dryRun) writeReport(target, report.run, report);
  if (values.json) printJson(report);
  else console.log(renderPrune(report));
  if (report.lock?.held.length) console.error(`! lock NOT released on ${report.lock.held.map((h) => h.host).join(', ')}: once reachable, run pier lock release ${target.envName}`);
  return report.ok ? 0 : 3;
}
