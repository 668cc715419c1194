import { stringify } from 'yaml';
import { loadConfig } from '../config/load.ts';
import { redactObject } from '../util/redact.ts';
import { commonOptions, parse } from './args.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier config [--env NAME] [--config FILE] [--json]

Validate pier.yaml (and environments/NAME.yaml with --env) and print the resolved
configuration, secrets redacted. Exit 2 with every problem found when it is invalid.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...commonOptions, env: { type: 'string', short: 'e' } }, false);
  if (values.help) return console.log(help), 0;
  const cfg = loadConfig({ configFile: values.config, env: values.env });
  const shown = redactObject({ ...cfg, env: cfg.env ? { ...cfg.env, file: undefined } : undefined, file: undefined });
  if (values.json) printJson(shown);
  else {
    console.error(`✓ ${cfg.file}${cfg.env ? ` + environments/${cfg.env.name}.yaml` : ''} valid`);
    console.log(stringify(shown).trimEnd());
  }
  return 0;
}
