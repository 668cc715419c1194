/**
 * The one POSIX shell quoter. pier builds commands as argv arrays; where a shell must read them
 * (SSH's remote login shell, an `sh -c` script), every word is quoted here so no value is ever
 * re-parsed by the shell.
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
