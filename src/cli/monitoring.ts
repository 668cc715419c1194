import { monitoringDown, monitoringStatus, monitoringUp, type MonitoringReport } from '../deploy/monitoring.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier monitoring up|status|down <env> [--timeout S] [--volumes] [--config FILE] [--json]

Production monitoring (monitoring: in environments/<env>.yaml):
  up      write prometheus.yml and the alert rules (the production thresholds of monitoring.alerts
          plus staging's SLO rules) on the monitoring host, check them with promtool, (re)create
          a node exporter on every host and Prometheus on the monitoring host, and wait (--timeout,
          default max(60, 3 scrape intervals) s) until every target is scraped and up
  status  containers, and each target's health as Prometheus last scraped it
  down    remove the exporters, Prometheus and its configuration (its data too with --volumes)
Prometheus listens on monitoring.bind:port of its host (127.0.0.1:9090 unless set: reach it
through an SSH tunnel). Exit 0 when every target is up (down: when everything is gone), 1 otherwise.`;

const VERBS = ['up', 'status', 'down'];

function print(r: MonitoringReport): void {
  console.log(`Prometheus on ${r.host} (${r.listen}): ${r.ok ? '✓' : '✗'}${r.detail ? ` ${r.detail}` : ''}`);
  for (const c of r.containers) console.log(`  ${c.host.padEnd(10)} ${c.container.padEnd(20)} ${c.state}`);
  for (const t of r.targets) console.log(`  ${t.up ? '✓' : '✗'} ${t.job.padEnd(10)} ${t.host.padEnd(10)} ${t.instance}`);
  if (r.rules.length) console.log(`  ${r.rules.length} alert rules: ${r.rules.join(', ')}`);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, timeout: { type: 'string' }, volumes: { type: 'boolean' } });
  if (values.help) return console.log(help), 0;
  const [verb, env] = positionals;
  if (!verb || !VERBS.includes(verb)) throw new UsageError(`pier monitoring: expected ${VERBS.join('|')}, got ${verb ?? 'nothing'}`, 'pier monitoring up|status|down <env>');
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) throw new UsageError(`--timeout: expected a number of seconds > 0, got ${values.timeout}`);
  const target = targetFor(env, values.config, `monitoring ${verb}`);
  const report =
    verb === 'up' ? await monitoringUp(target, { timeoutSeconds: timeout })
    : verb === 'down' ? await monitoringDown(target, { volumes: Boolean(values.volumes) })
    : await monitoringStatus(target);
  if (values.json) printJson(report);
  else print(report);
  return report.ok ? 0 : 1;
}
