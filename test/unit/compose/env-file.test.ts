import { describe, expect, it } from 'vitest';
import { checkRequired, parseEnvFile } from '../../../src/compose/env-file.ts';

describe('parseEnvFile', () => {
  it('reads NAME=value, export, quotes, comments and blank lines with their line numbers', () => {
    const env = parseEnvFile(['# comment', '', 'A=1', 'export B = two words ', "C='x # not a comment'", 'D="say \\"hi\\""', 'E=v # trailing', 'F='].join('\n'), 'f.env');
    expect(env.issues).toEqual([]);
    expect(env.vars).toEqual({ A: '1', B: 'two words', C: 'x # not a comment', D: 'say "hi"', E: 'v', F: '' });
    expect(env.lines).toEqual({ A: 3, B: 4, C: 5, D: 6, E: 7, F: 8 });
  });

  it('reports malformed lines and unterminated quotes at their line, without echoing the text', () => {
    const env = parseEnvFile('OK=1\nhunter2-secret-pasted\n1BAD=x\nQ="open\n', 'environments/staging.env');
    expect(env.issues.map((i) => [i.line, i.path])).toEqual([[2, ''], [3, ''], [4, 'Q']]);
    expect(env.issues[0]!.message).toMatch(/^malformed line: expected NAME=value/);
    expect(JSON.stringify(env.issues)).not.toContain('hunter2');
    expect(env.issues[2]!.message).toBe('unterminated quote: expected the value to end with "');
    expect(env.vars).toEqual({ OK: '1' });
  });
});

describe('checkRequired', () => {
  const required = { POSTGRES_PASSWORD: '[A-Za-z0-9._~-]{16,}', LOG_LEVEL: 'debug|info|warn|error|silent', POSTGRES_DB: '[a-z_]+' };

  it('accepts values whose whole text matches', () => {
    const env = parseEnvFile('POSTGRES_PASSWORD=abcdefghijklmnop12\nLOG_LEVEL=info\nPOSTGRES_DB=api\n', 'f.env');
    expect(checkRequired(env, required)).toEqual([]);
  });

  it('names missing, empty and invalid variables with file, line and what is expected; never the value', () => {
    const env = parseEnvFile('POSTGRES_PASSWORD=short-secret\nLOG_LEVEL=\n', 'environments/staging.env');
    const issues = checkRequired(env, { ...required, LOG_LEVEL: 'info|debug' });
    expect(issues).toEqual([
      { file: 'environments/staging.env', line: 1, col: 1, path: 'POSTGRES_PASSWORD', message: 'invalid value (not shown, 12 characters): expected a value matching /^(?:[A-Za-z0-9._~-]{16,})$/' },
      { file: 'environments/staging.env', line: 2, col: 1, path: 'LOG_LEVEL', message: 'empty: expected a value matching /^(?:info|debug)$/' },
      { file: 'environments/staging.env', path: 'POSTGRES_DB', message: 'missing: expected a value matching /^(?:[a-z_]+)$/' },
    ]);
    expect(JSON.stringify(issues)).not.toContain('short-secret');
  });

  it('anchors the pattern: a partial match is not enough', () => {
    const env = parseEnvFile('LOG_LEVEL=info-and-more\n', 'f.env');
    expect(checkRequired(env, { LOG_LEVEL: 'info|debug' })).toHaveLength(1);
  });
});
