import { parseLockWait } from '../deploy/lock.ts';
import { rollback } from '../deploy/rollback.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';
import { rollbackHookPoints, type HookLog } from '../hooks/points.ts';
import { newRunId } from '../util/run-id.ts';
import { notifierFor } from '../notify/notifier.ts';
import { manualRollbackEmissions } from '../notify/lifecycle.ts';

export const help = `Usage: pier rollback <env> [--to VERSION] [--lock-wait SECONDS] [--config FILE] [--json]

Switch every host (in parallel) to a retained release without pulling anything. Without --to,
each host goes back to the release that served on it before the current one (from its recorded
history; never a release that never served, never forward to one just rolled back). When the
hosts disagree, their state is printed and the fleet converges on the newest release that served
on all of them; with none, pier asks for --to (exit 2).
Exit 0 when every host switched, 1 when any did not, 2 when the target is ambiguous.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, to: { type: 'string' }, 'lock-wait': { type: 'string' } });
  if (values.help) return console.log(help), 0;
  const lockWaitSeconds = parseLockWait(values['lock-wait']);
  const target = targetFor(positionals[0], values.config, 'rollback');
  const hookLog: HookLog = { results: [], warnings: [] };
  const notifier = notifierFor(target, newRunId());
  const hosts = target.hosts.map((h) => h.name);
  notifier.emit('rollback.triggered', { version: values.to, hosts, reason: `by hand (${target.by})${values.to ? `: --to ${values.to}` : ''}` });
  const report = await rollback(target, { to: values.to, lockWaitSeconds, ...rollbackHookPoints(target, hookLog) }).catch(async (e: Error) => {
    notifier.emit('rollback.done', { version: values.to, hosts, reason: `refused: ${e.message}` });
    await notifier.settle();
    throw e;
  });
  for (const [event, fields] of manualRollbackEmissions(target.by, report)) notifier.emit(event, fields);
  const deliveries = await notifier.settle();
  const full = { ...report, ...(hookLog.results.length ? { hooks: hookLog.results } : {}), ...(deliveries.length ? { notifications: deliveries } : {}) };
  if (values.json) printJson(full);
  for (const w of hookLog.warnings) console.error(`! ${w}`);
  for (const w of notifier.warnings()) console.error(`! ${w}`);
  for (const h of report.hosts) console.error(`  ${h.host.padEnd(10)} ${h.ok ? '✓' : '✗'} ${h.from ?? '?'} -> ${h.to ?? '?'}${h.detail ? `  (${h.detail})` : ''}`);
  for (const r of report.roles ?? []) console.error(`  ${`${r.host}/${r.role}`.padEnd(10)} ${r.ok ? '✓' : '✗'} ${r.from ?? '?'} -> ${r.to ?? '?'}${r.detail ? `  (${r.detail})` : ''}`);
  console.error(report.ok ? `✓ rolled back to ${report.version} in ${report.seconds.toFixed(1)}s` : '✗ rollback incomplete');
  if (report.lock.held.length) console.error(`! lock NOT released on ${report.lock.held.map((h) => h.host).join(', ')}`);
  return report.ok ? 0 : 1;
}
