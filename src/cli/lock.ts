import { lockRelease, lockStatus } from '../deploy/lock-admin.ts';
import { describeHolder } from '../deploy/records.ts';
import { UsageError } from '../util/errors.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier lock status|release <env> [--config FILE] [--json]

status   who holds the deploy lock on each host (exit 1 when any host is locked)
release  remove the lock on every host whoever holds it (for a deploy that died); audited`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, commonOptions);
  if (values.help) return console.log(help), 0;
  const [sub, env] = positionals;
  if (sub !== 'status' && sub !== 'release') throw new UsageError(`pier lock: expected status or release, got "${sub ?? ''}"`);
  const target = targetFor(env, values.config, `lock ${sub}`);
  const locks = sub === 'status' ? await lockStatus(target) : await lockRelease(target);
  if (values.json) printJson(locks);
  else for (const l of locks) console.log(`${l.host}: ${l.holder ? `${sub === 'release' ? 'released lock of ' : 'locked by '}${describeHolder(l.holder)}` : 'free'}`);
  return sub === 'status' && locks.some((l) => l.holder) ? 1 : 0;
}
