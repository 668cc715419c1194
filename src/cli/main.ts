import { readFileSync } from 'node:fs';
import { PierError, ExitCode } from '../util/errors.ts';
import { redact } from '../util/redact.ts';
import { verbs } from './verbs.ts';
import { installOutputRedaction } from './output.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function usage(): string {
  const width = Math.max(...Object.keys(verbs).map((v) => v.length));
  return [
    `pier ${pkg.version}: from a laptop to production hosts`,
    '',
    'Usage: pier <command> [options]',
    '',
    'Commands:',
    ...Object.entries(verbs).map(([name, v]) => `  ${name.padEnd(width)}  ${v.summary}`),
    '',
    'Run `pier <command> --help` for a command\'s options.',
    'Exit codes: 0 ok, 1 a gate said no, 2 bad usage or configuration, 3 the environment failed.',
  ].join('\n');
}

/** Run the CLI; returns the exit code. Every error becomes a message and a code, never a stack. */
export async function main(argv: string[]): Promise<number> {
  installOutputRedaction();
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    console.log(usage());
    return ExitCode.ok;
  }
  if (verb === '--version' || verb === '-V' || verb === 'version') {
    console.log(pkg.version);
    return ExitCode.ok;
  }
  const command = verbs[verb];
  if (!command) {
    console.error(`pier: unknown command "${verb}"\n\n${usage()}`);
    return ExitCode.usage;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof PierError) {
    console.error(`pier: ${redact(err.message)}`);
    if (err.hint) console.error(`hint: ${redact(err.hint)}`);
    return err.exitCode;
  }
  const e = err as Error;
  console.error(`pier: unexpected error: ${redact(e?.stack ?? String(err))}`);
  return ExitCode.environment;
}
