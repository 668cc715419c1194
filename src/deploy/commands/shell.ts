/**
 * SSH runs one command string through the remote login shell. pier builds argv arrays and turns
 * them into that string here, quoting every word, so no value is ever re-parsed by the shell.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX-quote one word: `it's` -> `'it'\''s'`. Plain words stay as they are. */
export function quoteWord(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line for an argv, e.g. `['echo', 'a b']` -> `echo 'a b'`. */
export function toCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('toCommandLine: empty argv');
  return argv.map(quoteWord).join(' ');
}

/**
 * A small POSIX `sh -c` script as argv. Values go in as positional parameters ($1, $2...) so the
 * script text itself never contains user data.
 */
export function shScript(script: string, ...args: string[]): string[] {
  return ['sh', '-c', script, 'sh', ...args];
}
