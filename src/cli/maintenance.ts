import { setMaintenance } from '../deploy/maintenance.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier maintenance on|off <env> [--page FILE] [--retry-after SECONDS] [--config FILE] [--json]

on:  every host's proxy answers 503 with a page (maintenance.page, --page, or a default naming the
     app) and Retry-After (maintenance.retryAfterSeconds, default 300), except the app's health
     path and /.well-known/acme-challenge/. Deploys and rollbacks keep it on (pier deploy --live
     turns it off once the deploy succeeded). pier status shows it.
off: every proxy serves the app again (graceful nginx reload: no request fails in the switch).

Each host is checked through its proxy afterwards. Exit 0 when every host switched, 1 when any did not.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, page: { type: 'string' }, 'retry-after': { type: 'string' } });
  if (values.help) return console.log(help), 0;
  const [mode, env] = positionals;
  if (mode !== 'on' && mode !== 'off') throw new UsageError(`pier maintenance: expected on or off, got ${mode ?? 'nothing'}`, 'pier maintenance on|off <env>');
  let retryAfterSeconds: number | undefined;
  if (values['retry-after'] !== undefined) {
    retryAfterSeconds = Number(values['retry-after']);
    if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 1 || retryAfterSeconds > 86_400) throw new UsageError(`--retry-after: expected whole seconds 1..86400, got ${values['retry-after']}`);
  }
  if (mode === 'off' && (values.page || retryAfterSeconds)) throw new UsageError('--page and --retry-after apply to maintenance on');
  const target = targetFor(env, values.config, `maintenance ${mode}`);
  const report = await setMaintenance(target, mode === 'on', { page: values.page, retryAfterSeconds });
  if (values.json) printJson(report);
  for (const h of report.hosts) console.error(`  ${h.host.padEnd(10)} ${h.ok ? '✓' : '✗'} maintenance ${h.ok ? (h.on ? 'on' : 'off') : 'unchanged'}${h.detail ? `  (${h.detail})` : ''}`);
  console.error(report.ok ? `✓ maintenance ${mode} on ${target.envName}` : `✗ maintenance ${mode} incomplete on ${target.envName}`);
  return report.ok ? 0 : 1;
}
