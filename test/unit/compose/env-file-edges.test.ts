// Env-file parsing at its edges: CRLF, quotes in every position, escapes, the column of an
// unterminated quote, redefinitions, and requiredEnv on a variable defined without a line.
import { describe, expect, it } from 'vitest';
import { checkRequired, parseEnvFile } from '../../../src/compose/env-file.ts';

describe('env-file parsing edges', () => {
  it('CRLF lines, indented comments, export with tabs, spaces around =', () => {
    const env = parseEnvFile('A=1\r\n  # note\r\nexport\tB=2\r\n  C  =  3  \r\n\t\r\n', 'e.env');
    expect(env).toEqual({ file: 'e.env', vars: { A: '1', B: '2', C: '3' }, lines: { A: 1, B: 3, C: 4 }, issues: [] });
  });

  it('double quotes: \\n is a newline, \\" and \\\\ unescape; single quotes keep everything; text after the closing quote is dropped', () => {
    const env = parseEnvFile(['A="l1\\nl2"', 'B="q\\"x\\\\y"', "C='a\\nb \"c\"'", 'D="x" # note', 'E=""', "F=''", 'G=a#b', 'H=a #b', 'I= "sp" ', 'J=a  # two spaces'].join('\n'), 'e.env');
    expect(env.vars).toEqual({ A: 'l1\nl2', B: 'q"x\\y', C: 'a\\nb "c"', D: 'x', E: '', F: '', G: 'a#b', H: 'a', I: 'sp', J: 'a' });
    expect(env.issues).toEqual([]);
  });

  it('single quotes have no escapes: a backslash before the closing quote is part of the value', () => {
    const env = parseEnvFile("WIN='C:\\dir\\'\nNEXT=1\n", 'e.env');
    expect(env.issues).toEqual([]);
    expect(env.vars).toEqual({ WIN: 'C:\\dir\\', NEXT: '1' });
  });

  it('an unterminated quote is located at the value and names the quote; the variable is left out', () => {
    const env = parseEnvFile("OK=1\nS='abc\nD=\"ab\\\"\n", 'e.env');
    expect(env.issues).toEqual([
      { file: 'e.env', line: 2, col: 3, path: 'S', message: "unterminated quote: expected the value to end with '" },
      { file: 'e.env', line: 3, col: 3, path: 'D', message: 'unterminated quote: expected the value to end with "' },
    ]);
    expect(env.vars).toEqual({ OK: '1' });
    expect(parseEnvFile('LONGER_NAME = "x', 'e.env').issues[0]).toMatchObject({ line: 1, col: 14 });
  });

  it('a malformed line is located at column 1 with the expected form; the last definition wins', () => {
    const env = parseEnvFile('A=1\nexport\nA=2\n', 'e.env');
    expect(env.issues).toEqual([{ file: 'e.env', line: 2, col: 1, path: '', message: 'malformed line: expected NAME=value (NAME: letters, digits and _, not starting with a digit)' }]);
    expect(env.vars).toEqual({ A: '2' });
    expect(env.lines).toEqual({ A: 3 });
  });

  it('requiredEnv on a variable known without a line (added by the caller) has no location', () => {
    const env = { file: 'e.env', vars: { A: '', B: 'bad' }, lines: {}, issues: [] };
    expect(checkRequired(env, { A: 'x', B: 'x' })).toEqual([
      { file: 'e.env', path: 'A', message: 'empty: expected a value matching /^(?:x)$/' },
      { file: 'e.env', path: 'B', message: 'invalid value (not shown, 3 characters): expected a value matching /^(?:x)$/' },
    ]);
    expect(checkRequired(parseEnvFile('A=x\n', 'e.env'), {})).toEqual([]);
  });
});
