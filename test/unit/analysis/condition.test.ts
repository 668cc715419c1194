import { describe, expect, it } from 'vitest';
import { ConditionSyntaxError, evaluate, parseCondition } from '../../../src/analysis/condition.ts';
import { formatDuration, parseDuration } from '../../../src/analysis/duration.ts';

const ev = (src: string, values: Record<string, number | undefined>) => evaluate(parseCondition(src), values);

describe('conditions', () => {
  it('compares named values with numbers and percentages', () => {
    expect(ev('error_rate > 0.05', { error_rate: 0.06 })).toBe(true);
    expect(ev('error_rate > 5%', { error_rate: 0.05 })).toBe(false);
    expect(ev('error_rate >= 5%', { error_rate: 0.05 })).toBe(true);
    expect(ev('p95_ms > 2000', { p95_ms: 1999.5 })).toBe(false);
    expect(ev('availability < 0.95', { availability: 0.9 })).toBe(true);
    expect(ev('exit_code == 0', { exit_code: 0 })).toBe(true);
    expect(ev('exit_code != 0', { exit_code: 0 })).toBe(false);
  });

  it('arithmetic, precedence, parentheses, dotted names (canary vs baseline)', () => {
    const src = 'canary.error_rate > baseline.error_rate + 2% && canary.requests >= 20';
    expect(ev(src, { 'canary.error_rate': 0.05, 'baseline.error_rate': 0.02, 'canary.requests': 20 })).toBe(true);
    expect(ev(src, { 'canary.error_rate': 0.04, 'baseline.error_rate': 0.02, 'canary.requests': 20 })).toBe(false);
    expect(ev('a + b * 2 > 10', { a: 1, b: 5 })).toBe(true); // 1 + 10
    expect(ev('(a + b) * 2 > 10', { a: 1, b: 4 })).toBe(false); // 10
    expect(ev('-a < 0', { a: 3 })).toBe(true);
    expect(ev('a / b > 1', { a: 3, b: 2 })).toBe(true);
    expect(ev('not a > 1 or b > 1', { a: 5, b: 2 })).toBe(true);
    expect(ev('!(a > 1) || b > 1', { a: 5, b: 0 })).toBe(false);
    expect(ev('a > 1 and b > 1', { a: 5, b: 0 })).toBe(false);
  });

  it('a missing value makes the condition undecidable, unless the other side of && / || decides', () => {
    expect(ev('error_rate > 0.05', {})).toBeUndefined();
    expect(ev('error_rate > 0.05', { error_rate: Number.NaN })).toBeUndefined();
    expect(ev('a / b > 1', { a: 1, b: 0 })).toBeUndefined();
    expect(ev('a > 1 || b > 1', { a: 2 })).toBe(true);
    expect(ev('b > 1 || a > 1', { a: 2 })).toBe(true);
    expect(ev('b > 1 || a > 1', { a: 0 })).toBeUndefined();
    expect(ev('a > 1 && b > 1', { a: 0 })).toBe(false);
    expect(ev('b > 1 && a > 1', { a: 0 })).toBe(false);
    expect(ev('b > 1 && a > 1', { a: 2 })).toBeUndefined();
  });

  it('lists the names it reads', () => {
    expect(parseCondition('canary.p95_ms > baseline.p95_ms * 1.5 && canary.p95_ms > 50').names).toEqual(['canary.p95_ms', 'baseline.p95_ms']);
  });

  it('syntax errors name the column and what was expected', () => {
    const err = (src: string) => {
      try {
        parseCondition(src);
      } catch (e) {
        expect(e).toBeInstanceOf(ConditionSyntaxError);
        return (e as Error).message;
      }
      throw new Error(`parsed: ${src}`);
    };
    expect(err('error_rate >')).toBe('condition "error_rate >": at column 13: expected a value after the operator (the condition ends here)');
    expect(err('error_rate > 5 5')).toMatch(/at column 16: expected an operator or the end \(found "5"\)/);
    expect(err('(a > 1')).toMatch(/at column 7: expected "\)"/);
    expect(err('a > $1')).toMatch(/at column 5: expected a number, a name/);
    expect(err('')).toMatch(/it is empty/);
    expect(err('error_rate')).toMatch(/a comparison such as error_rate > 0.05/);
    expect(err('a + 1')).toMatch(/not true\/false/);
  });
});

describe('durations', () => {
  it('parses seconds and unit strings', () => {
    expect(parseDuration(90)).toBe(90);
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('2 minutes')).toBeUndefined();
    expect(parseDuration('m')).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
  });
  it('formats', () => {
    expect(formatDuration(125)).toBe('2m5s');
    expect(formatDuration(120)).toBe('2m');
    expect(formatDuration(0.5)).toBe('500ms');
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(3)).toBe('3s');
  });
});
