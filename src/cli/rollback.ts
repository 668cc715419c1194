import { rollback } from '../deploy/ops.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';

export const help = `Usage: pier rollback <env> [--to VERSION] [--lock-wait SECONDS] [--config FILE] [--json]

Switch every host (in parallel) to a retained release without pulling anything: the previous
one, or VERSION. Exit 0 when every host switched, 1 when any did not.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, to: { type: 'string' }, 'lock-wait': { type: 'string' } });
  if (values.help) return console.log(help), 0;
  const target = targetFor(positionals[0], values.config, 'rollback');
  const report = await rollback(target, { to: values.to, lockWaitSeconds: Number(values['lock-wait'] ?? 0) });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  for (const h of report.hosts) console.error(`  ${h.host.padEnd(10)} ${h.ok ? '✓' : '✗'} ${h.from ?? '?'} -> ${h.to ?? '?'}${h.detail ? `  (${h.detail})` : ''}`);
  console.error(report.ok ? `✓ rolled back in ${report.seconds.toFixed(1)}s` : '✗ rollback incomplete');
  if (report.lock.held.length) console.error(`! lock NOT released on ${report.lock.held.map((h) => h.host).join(', ')}`);
  return report.ok ? 0 : 1;
}
