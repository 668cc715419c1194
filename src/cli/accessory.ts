import { accessoryLogs, accessoryStatus, bootAccessories, stopAccessories, type AccessoryReport } from '../deploy/accessories.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier accessory boot|reboot|stop|logs|status <env> [name] [--lines N] [--config FILE] [--json]

Services pier runs on named hosts beside the app (accessories: in environments/<env>.yaml), all of
them or the one named:
  boot    create the container when absent, start it when stopped, leave it alone when running;
          then wait for its health command
  reboot  recreate the container (new image or settings; named volumes keep the data)
  stop    stop it (kept; boot starts it again)
  logs    its last log lines (--lines, default 100)
  status  state, start time, container id, health
A port is published on the accessory's bind address (127.0.0.1 unless set). pier deploy and
rollback never restart an accessory. Exit 0 when every accessory is as asked, 1 otherwise.`;

const VERBS = ['boot', 'reboot', 'stop', 'logs', 'status'];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, lines: { type: 'string' } });
  if (values.help) return console.log(help), 0;
  const [verb, env, name] = positionals;
  if (!verb || !VERBS.includes(verb)) throw new UsageError(`pier accessory: expected ${VERBS.join('|')}, got ${verb ?? 'nothing'}`, 'pier accessory boot|reboot|stop|logs|status <env> [name]');
  const target = targetFor(env, values.config, `accessory ${verb}`);
  if (verb === 'logs') {
    const lines = Number(values.lines ?? 100);
    if (!Number.isInteger(lines) || lines < 1) throw new UsageError(`--lines: expected a whole number >= 1, got ${values.lines}`);
    const all = await accessoryLogs(target, name, lines);
    if (values.json) printJson(all);
    else for (const a of all) console.log(`== ${a.name} on ${a.host} ==\n${a.logs.trimEnd()}`);
    return 0;
  }
  const reports: AccessoryReport[] =
    verb === 'boot' ? await bootAccessories(target, name)
    : verb === 'reboot' ? await bootAccessories(target, name, { recreate: true })
    : verb === 'stop' ? await stopAccessories(target, name)
    : await accessoryStatus(target, name);
  if (values.json) printJson(reports);
  else for (const r of reports) console.log(`${r.name.padEnd(10)} ${r.host.padEnd(10)} ${r.ok ? '✓' : '✗'} ${r.state}${r.action ? ` (${r.action})` : ''}${r.health ? ` ${r.health}` : ''}${r.startedAt ? ` since ${r.startedAt}` : ''}${r.detail ? `  ${r.detail}` : ''}`);
  return reports.every((r) => r.ok) ? 0 : 1;
}
