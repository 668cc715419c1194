// Test-result parsing against real output samples (test/fixtures/test-output/, written by the real
// runners: node 20 node:test, vitest 3, jest 29 + jest-junit, pytest 7 and go 1.19 from Debian).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LiveCounter, classifyLine, failingTests, parseJUnit, parseTestOutput, stripAnsi } from '../../../src/pipeline/test-results.ts';
import { testFigures } from '../../../src/pipeline/stages/test.ts';
import { repoRoot } from '../../helpers/paths.ts';

const sample = (f: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'test-output', f), 'utf8');
const live = (text: string) => {
  const c = new LiveCounter();
  const seen: string[] = [];
  for (const l of text.split('\n')) if (c.line(l)) seen.push(c.text());
  return { c, seen };
};

describe('final counts from real runner output', () => {
  it.each([
    ['node-test.tap.txt', 'node:test', { tests: 5, pass: 3, fail: 1, skipped: 1 }],
    ['node-test.spec.txt', 'node:test', { tests: 5, pass: 3, fail: 1, skipped: 1 }],
    ['vitest.txt', 'vitest', { tests: 4, pass: 2, fail: 1, skipped: 1 }],
    ['vitest-verbose.txt', 'vitest', { tests: 4, pass: 2, fail: 1, skipped: 1 }],
    ['jest-two-files.txt', 'jest', { tests: 5, pass: 3, fail: 1, skipped: 1 }],
    ['jest-one-file.txt', 'jest', { tests: 4, pass: 2, fail: 1, skipped: 1 }],
    ['pytest.txt', 'pytest', { tests: 3, pass: 2, fail: 1 }],
    ['pytest-q-pass.txt', 'pytest', { tests: 3, pass: 2, fail: 0, skipped: 1 }],
    ['pytest-v.txt', 'pytest', { tests: 3, pass: 2, fail: 1 }],
    ['go-test-v.txt', 'go', { tests: 7, pass: 5, fail: 1, skipped: 1 }],
    ['go-test-json.txt', 'go', { tests: 7, pass: 5, fail: 1, skipped: 1 }],
  ])('%s -> %s', (file, runner, counts) => {
    expect(parseTestOutput(sample(file))).toEqual({ runner, counts });
  });

  it('nothing recognisable: undefined', () => {
    expect(parseTestOutput('all good\nok\n')).toBeUndefined();
    expect(parseTestOutput('ok  \texample.com/greet\t0.005s\n')).toBeUndefined();
  });
});

describe('JUnit XML', () => {
  it('pytest --junitxml (self-closing test cases)', () => {
    expect(parseJUnit(sample('pytest-junit.xml'))).toEqual({ tests: 3, pass: 2, fail: 1, failures: ['test_server.test_failure_on_request'] });
  });
  it('jest-junit (two suites, a skipped case)', () => {
    expect(parseJUnit(sample('jest-junit.xml'))).toEqual({ tests: 5, pass: 3, fail: 1, skipped: 1, failures: ['fails'] });
  });
  it('rejects what is not a JUnit report', () => {
    expect(() => parseJUnit('{"not":"xml"}')).toThrow(/not a JUnit XML report/);
  });
  it('report counts win over the output; missing reports are named', () => {
    const files = { '/app/junit.xml': sample('pytest-junit.xml') };
    expect(testFigures(sample('pytest.txt'), ['/app/junit.xml', 'other.xml'], files)).toEqual({
      tests: 3, pass: 2, fail: 1, runner: 'junit', reports: { '/app/junit.xml': { tests: 3, pass: 2, fail: 1 } },
      failures: ['test_server.test_failure_on_request'], reportProblems: ['other.xml: not written by the test command'],
    });
    expect(testFigures(sample('jest-two-files.txt'), [], {})).toEqual({ tests: 5, pass: 3, fail: 1, skipped: 1, runner: 'jest' });
  });
});

describe('live counts while tests run', () => {
  it('jest: counts per test as files finish (not 0/0 until the end), file lines when not verbose', () => {
    const one = live(sample('jest-one-file.txt'));
    expect(one.c.text()).toBe('2 passed, 1 failed, 1 skipped');
    expect(one.seen[0]).toBe('0 test files passed, 1 failed');
    const two = live(sample('jest-two-files.txt'));
    expect(two.c.text()).toBe('1 test files passed, 1 failed');
  });
  it.each([
    ['node-test.tap.txt', '3 passed, 1 failed, 1 skipped'],
    ['node-test.spec.txt', '3 passed, 1 failed, 1 skipped'],
    ['vitest-verbose.txt', '2 passed, 1 failed, 1 skipped'],
    ['pytest.txt', '2 passed, 1 failed'],
    ['pytest-v.txt', '2 passed, 1 failed'],
    ['go-test-v.txt', '5 passed, 1 failed, 1 skipped'],
    ['go-test-json.txt', '5 passed, 1 failed, 1 skipped'],
  ])('%s -> %s', (file, text) => {
    expect(live(sample(file)).c.text()).toBe(text);
  });
  it('classifies single lines, colours stripped', () => {
    expect(classifyLine('\x1b[32m✓\x1b[39m adds')).toBe('pass');
    expect(classifyLine('ok 3 - later # SKIP not now')).toBe('skip');
    expect(classifyLine('test_x.py ..Fs.  [ 40%]')).toEqual(['pass', 'pass', 'fail', 'skip', 'pass']);
    expect(classifyLine('listening on 3000')).toBeUndefined();
    expect(stripAnsi('\x1b[1m\x1b[31mred\x1b[39m\x1b[22m')).toBe('red');
  });
});

describe('failing test names from real runner output', () => {
  it.each([
    ['node-test.tap.txt', ['fails']],
    ['node-test.spec.txt', ['fails']],
    ['jest-one-file.txt', ['fails']],
    ['vitest.txt', ['fails']],
    ['go-test-v.txt', ['TestFails']],
    ['pytest.txt', ['test_server.py::test_failure_on_request']],
  ])('%s names %j', (file, names) => {
    expect(failingTests(sample(file))).toEqual(names);
  });

  it('a passing run names none; skips and todos are not failures; the list is bounded', () => {
    expect(failingTests(sample('pytest-q-pass.txt'))).toEqual([]);
    expect(failingTests('not ok 3 - later # SKIP no db\nok 1 - a\nnot ok 2 - b # TODO soon')).toEqual([]);
    expect(failingTests(Array.from({ length: 80 }, (_, i) => `not ok ${i + 1} - t${i}`).join('\n'), 5)).toEqual(['t0', 't1', 't2', 't3', 't4']);
  });
});
