import { promote } from '../release/release.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { abortOnSigint, finishRelease } from './release-common.ts';
import { UsageError } from '../util/errors.ts';

export const help = `Usage: pier promote <from-env> <to-env> [--no-guard] [--config FILE] [--json]

Deploy to <to-env> exactly the image <from-env> serves, by digest. Refused (exit 1, nothing
changed) when the hosts of <from-env> serve different images, or when <from-env>'s checks did not
pass for that digest (the newest checks verdict recorded on its hosts decides: pier checks <from-env>).
After the deploy: <to-env>'s smoke: commands (a failure rolls every host back), then the guard when
deploy.guard is set.

Exit: 0 promoted and held; 1 refused, rolled back, smoke or guard failed; 2 usage/config; 3 hosts unreachable.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, 'no-guard': { type: 'boolean' } });
  if (values.help) return console.log(help), 0;
  if (positionals.length !== 2) throw new UsageError('expected two environments: pier promote <from-env> <to-env>', 'e.g. pier promote staging production');
  const from = targetFor(positionals[0], values.config, 'promote');
  const to = targetFor(positionals[1], values.config, 'promote');
  const sig = abortOnSigint();
  try {
    const r = await promote(from, to, {
      noGuard: values['no-guard'], signal: sig.signal, targetOf: (e) => targetFor(e, values.config, 'promote'),
      deploy: { beforeMigrate: async (c) => (await import('../db/deploy-hook.ts')).backupBeforeMigrate(c.target, c.serving, c.progress, c.sessions) },
    });
    return finishRelease(to, r, values.json);
  } finally {
    sig.off();
  }
}
