import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command shares. */
export const commonOptions = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** parseArgs with pier's usage errors (exit 2) instead of TypeErrors. */
export function parse<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[\w+\]: /, ''));
  }
}
