import { setup } from '../setup/setup.ts';
import { commonOptions, parse } from './args.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier setup [--dotenv FILE]... [--json]

Make this machine ready for pier, from any directory: a running Docker engine, docker compose v2
and docker buildx (installed on Debian as root; elsewhere it says what is missing, exit 3), and
every image pier uses. Where public registries cannot be reached it builds local stand-ins
(pier.local/*) from Debian and selects them.

The choices go to the per-user machine file \${XDG_CONFIG_HOME:-~/.config}/pier/machine.env,
which pier reads in every repository (under a repo's .env and the process environment).
--dotenv FILE also writes them into FILE (e.g. .env), for plain \`docker compose\` in that repo.
Lines outside pier's block are kept. Idempotent.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: commonOptions.json, help: commonOptions.help, dotenv: { type: 'string', multiple: true } }, false);
  if (values.help) return console.log(help), 0;
  const log = (msg: string) => console.error(`setup: ${msg}`);
  const r = await setup({ dotenv: values.dotenv, log });
  if (values.json) printJson(r, false);
  else {
    log(`ready in ${r.seconds.toFixed(1)} s: engine ${r.engine}, compose ${r.compose}, buildx ${r.buildx}`);
    for (const [k, v] of Object.entries(r.images)) log(`  ${k}=${v}`);
    log(`recorded in ${r.written.join(', ')}`);
  }
  return 0;
}
