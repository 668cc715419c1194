/**
 * SSH runs one command string through the remote login shell: the words are quoted by the one
 * quoter (src/util/shell.ts); `sh -c` scripts are built here.
 */
export { quoteWord, toCommandLine } from '../../util/shell.ts';

/**
 * A small POSIX `sh -c` script as argv. Values go in as positional parameters ($1, $2...) so the
 * script text itself never contains user data.
 */
export function shScript(script: string, ...args: string[]): string[] {
  return ['sh', '-c', script, 'sh', ...args];
}
