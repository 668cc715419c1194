/**
 * How `serve` starts the app as a Dagger Service (pure, unit-tested): the app's migration command
 * first, then the image's own command, in one process tree so the migrated sidecar is the one the
 * app uses.
 */
import { toCommandLine } from './pier/util/shell.ts';

/**
 * Service args: without a migration, the image's default args; with one,
 * `sh -c '<migrate> && exec "$@"' pier-serve <default args...>` (the image's command is passed as
 * positional parameters, never re-parsed by the shell).
 */
export function serveArgs(migrate: string[] | undefined, defaultArgs: string[]): string[] {
  if (!migrate?.length) return defaultArgs;
  return ['sh', '-c', `${toCommandLine(migrate)} && exec "$@"`, 'pier-serve', ...defaultArgs];
}

/** A registry on a loopback address: inside a Dagger engine that is the engine itself, not the laptop. */
export function isLoopbackRegistry(address: string): boolean {
  return /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/.test(address);
}
