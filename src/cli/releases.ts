import { releases } from '../deploy/queries.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier releases <env> [--limit N] [--config FILE] [--json]

Release history of every host, newest first: version, event (deployed, rolled-back, rollback),
when and by whom; then each other role's (worker, scheduler) history on that host.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, limit: { type: 'string' } });
  if (values.help) return console.log(help), 0;
  const limit = Number(values.limit ?? 10);
  const all = await releases(targetFor(positionals[0], values.config, 'releases'));
  if (values.json) printJson(all);
  else
    for (const h of all) {
      console.log(`${h.host}:`);
      const line = (r: (typeof h.releases)[number]) => `${r.since}  ${r.version.padEnd(12)} ${r.event.padEnd(12)} by ${r.by}${r.from ? ` (from ${r.from})` : ''}`;
      for (const r of h.releases.slice(0, limit)) console.log(`  ${line(r)}`);
      for (const [role, rs] of Object.entries(h.roles ?? {})) {
        console.log(`  ${role}:`);
        for (const r of rs.slice(0, limit)) console.log(`    ${line(r)}`);
      }
    }
  return 0;
}
