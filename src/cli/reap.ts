import { assertEngine } from '../docker/client.ts';
import { reap } from '../docker/reap.ts';
import { commonOptions, parse } from './args.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier reap [--run ID] [--all] [--json]

Remove containers, networks and volumes labelled pier.run that crashed runs left behind.
By default only runs whose process is gone; --run ID selects one run; --all every pier run.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...commonOptions, run: { type: 'string' }, all: { type: 'boolean' } }, false);
  if (values.help) return console.log(help), 0;
  await assertEngine();
  const r = await reap({ runId: values.run, all: values.all });
  if (values.json) printJson(r, false);
  else console.log(`removed ${r.containers.length} containers, ${r.networks.length} networks, ${r.volumes.length} volumes`);
  return 0;
}
