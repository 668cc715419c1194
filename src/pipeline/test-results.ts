/**
 * Test results from any runner (pure): final counts from a runner's output (node:test TAP and
 * spec reporters, vitest, jest, pytest, go test -v and -json), JUnit XML reports, and live
 * counting line by line while the tests run. Every parser is tested against real output samples
 * (test/fixtures/test-output/).
 */

export interface TestCounts {
  tests: number;
  pass: number;
  fail: number;
  skipped?: number;
}

export type Runner = 'node:test' | 'vitest' | 'jest' | 'pytest' | 'go' | 'junit';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
export const stripAnsi = (s: string) => s.replace(ANSI, '');

const counts = (tests: number, pass: number, fail: number, skipped = 0): TestCounts => ({ tests, pass, fail, ...(skipped ? { skipped } : {}) });

/** node:test summary: TAP `# tests N` or the spec reporter's `ℹ tests N` (last block wins). */
function nodeTest(out: string): TestCounts | undefined {
  const n = (k: string) => {
    const all = [...out.matchAll(new RegExp(`^(?:#|ℹ)\\s*${k}\\s+(\\d+)\\s*$`, 'gm'))];
    return all.length ? Number(all[all.length - 1]![1]) : undefined;
  };
  const t = n('tests');
  if (t === undefined) return undefined;
  return counts(t, n('pass') ?? 0, (n('fail') ?? 0) + (n('cancelled') ?? 0), (n('skipped') ?? 0) + (n('todo') ?? 0));
}

/** vitest: `Tests  1 failed | 2 passed | 1 skipped (4)`. */
function vitest(out: string): TestCounts | undefined {
  const m = /^\s*Tests\s+((?:\d+ \w+(?:\s*\|\s*)?)+)\s*\((\d+)\)\s*$/m.exec(out);
  if (!m) return undefined;
  const part = (k: string) => Number(new RegExp(`(\\d+) ${k}`).exec(m[1]!)?.[1] ?? 0);
  return counts(Number(m[2]), part('passed'), part('failed'), part('skipped') + part('todo'));
}

/** jest: `Tests:       1 failed, 1 skipped, 3 passed, 5 total`. */
function jest(out: string): TestCounts | undefined {
  const m = /^Tests:\s+((?:\d+ \w+, )*)(\d+) total\s*$/m.exec(out);
  if (!m) return undefined;
  const part = (k: string) => Number(new RegExp(`(\\d+) ${k}`).exec(m[1]!)?.[1] ?? 0);
  return counts(Number(m[2]), part('passed'), part('failed'), part('skipped') + part('todo'));
}

/** pytest: `==== 1 failed, 2 passed, 1 skipped in 0.12s ====` (also `-q`: no rule around it). */
function pytest(out: string): TestCounts | undefined {
  const lines = [...out.matchAll(/^=*\s*((?:\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)(?:, )?)+) in [\d.]+s(?: \([^)]*\))?\s*=*\s*$/gm)];
  const m = lines.at(-1);
  if (!m) return /^=*\s*no tests ran in [\d.]+s/m.test(out) ? counts(0, 0, 0) : undefined;
  const part = (k: string) => Number(new RegExp(`(\\d+) ${k}\\b`).exec(m[1]!)?.[1] ?? 0);
  const pass = part('passed') + part('xpassed');
  const fail = part('failed') + part('errors?');
  const skipped = part('skipped') + part('xfailed');
  return counts(pass + fail + skipped, pass, fail, skipped);
}

/** go test -json: one JSON event per line; per-test `pass`/`fail`/`skip` actions. */
function goJson(out: string): TestCounts | undefined {
  let pass = 0;
  let fail = 0;
  let skip = 0;
  let seen = false;
  for (const line of out.split('\n')) {
    if (!line.startsWith('{"Time"') && !line.startsWith('{"Action"')) continue;
    try {
      const e = JSON.parse(line) as { Action?: string; Test?: string };
      seen = true;
      if (!e.Test) continue;
      if (e.Action === 'pass') pass++;
      else if (e.Action === 'fail') fail++;
      else if (e.Action === 'skip') skip++;
    } catch {
      /* a non-JSON line in between (build output) */
    }
  }
  return seen ? counts(pass + fail + skip, pass, fail, skip) : undefined;
}

/** go test -v: `--- PASS: TestX (0.00s)` lines, subtests indented. */
function goVerbose(out: string): TestCounts | undefined {
  const n = (k: string) => (out.match(new RegExp(`^\\s*--- ${k}: `, 'gm')) ?? []).length;
  const [pass, fail, skip] = [n('PASS'), n('FAIL'), n('SKIP')];
  return pass + fail + skip ? counts(pass + fail + skip, pass, fail, skip) : undefined;
}

const PARSERS: [Runner, (out: string) => TestCounts | undefined][] = [
  ['go', goJson],
  ['node:test', nodeTest],
  ['vitest', vitest],
  ['jest', jest],
  ['pytest', pytest],
  ['go', goVerbose],
];

/** Final counts from a runner's combined output, and which runner wrote them. */
export function parseTestOutput(out: string): { runner: Runner; counts: TestCounts } | undefined {
  const text = stripAnsi(out).replace(/\r/g, '');
  for (const [runner, parse] of PARSERS) {
    const c = parse(text);
    if (c) return { runner, counts: c };
  }
  return undefined;
}

/**
 * Names of the failing tests in a runner's output (TAP `not ok`, the ✕ × ✖ marks of jest, vitest
 * and node's spec reporter, go's `--- FAIL:`, pytest's `FAILED` summary), each once, in order, at
 * most `max`: so a report says which test failed without the reader opening the log.
 */
export function failingTests(out: string, max = 50): string[] {
  const names = new Set<string>();
  for (const raw of stripAnsi(out).replace(/\r/g, '').split('\n')) {
    if (/^\s*✖ failing tests:/.test(raw)) continue; // node's spec reporter repeats them under this header
    const m =
      /^\s*not ok \d+ - (.+?)(?:\s+#\s*(?!SKIP|TODO).*)?$/i.exec(raw) ??
      /^\s*(?:✕|×|✖) (.+?)(?:\s+\(?[\d.]+\s*m?s\)?)?$/.exec(raw) ??
      /^\s*--- FAIL: (\S+)/.exec(raw) ??
      /^FAILED (\S+)/.exec(raw);
    if (m?.[1] && !/#\s*(SKIP|TODO)/i.test(raw)) names.add(m[1].trim());
    if (names.size >= max) break;
  }
  return [...names];
}

export const parseTestCounts = (out: string): TestCounts | undefined => parseTestOutput(out)?.counts;

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
const unescapeXml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/**
 * A JUnit XML report (pytest --junitxml, jest-junit, go-junit-report, surefire...): counts from its
 * `<testcase>` elements (a `<failure>` or `<error>` child fails it, `<skipped>` skips it) and the
 * names of the failing ones. Throws on text that is not a JUnit report.
 */
export function parseJUnit(xml: string): TestCounts & { failures: string[] } {
  if (!/<testsuites?[\s>]/.test(xml)) throw new Error('not a JUnit XML report (no <testsuite> or <testsuites> element)');
  let pass = 0;
  let fail = 0;
  let skip = 0;
  const failures: string[] = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const open = m[1]!;
    const body = m[3] ?? '';
    if (/<(failure|error)[\s/>]/.test(body)) {
      fail++;
      const cls = attr(open, 'classname')?.trim();
      const name = attr(open, 'name')?.trim() ?? '?';
      failures.push(unescapeXml(cls && !cls.endsWith(name) ? `${cls}.${name}` : name));
    } else if (/<skipped[\s/>]/.test(body)) skip++;
    else pass++;
  }
  return { ...counts(pass + fail + skip, pass, fail, skip), failures };
}

/** Sum of several reports' counts. */
export function sumCounts(list: TestCounts[]): TestCounts {
  const t = list.reduce((a, c) => ({ tests: a.tests + c.tests, pass: a.pass + c.pass, fail: a.fail + c.fail, skipped: (a.skipped ?? 0) + (c.skipped ?? 0) }), { tests: 0, pass: 0, fail: 0, skipped: 0 });
  return counts(t.tests, t.pass, t.fail, t.skipped);
}

type Verdict = 'pass' | 'fail' | 'skip';

/** What one output line says about one test, for live progress (pure). */
export function classifyLine(raw: string): Verdict | Verdict[] | undefined {
  const line = stripAnsi(raw).replace(/\r/g, '');
  // TAP (node:test, tap): `ok 1 - name`, `not ok 2 - name`, directives.
  let m = /^\s*(not )?ok \d+\b(.*)$/.exec(line);
  if (m) return /#\s*(SKIP|TODO)/i.test(m[2]!) ? 'skip' : m[1] ? 'fail' : 'pass';
  // jest (✓ ✕ ○), vitest verbose (✓ × ↓), node:test spec reporter (✔ ✖ ﹣).
  m = /^\s*(✓|✔|✕|×|✖|○|↓|﹣) \S/.exec(line);
  if (m) return ({ '✓': 'pass', '✔': 'pass', '✕': 'fail', '×': 'fail', '✖': 'fail', '○': 'skip', '↓': 'skip', '﹣': 'skip' } as const)[m[1] as '✓'];
  // go test -v (also subtests).
  m = /^\s*--- (PASS|FAIL|SKIP): /.exec(line);
  if (m) return ({ PASS: 'pass', FAIL: 'fail', SKIP: 'skip' } as const)[m[1] as 'PASS'];
  // go test -json.
  m = /^\{.*"Action":"(pass|fail|skip)".*"Test":"/.exec(line);
  if (m) return m[1] as Verdict;
  // pytest -v: `test_x.py::test_a PASSED   [ 50%]`.
  m = /::\S+ (PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)\b/.exec(line);
  if (m) return ({ PASSED: 'pass', XPASS: 'pass', FAILED: 'fail', ERROR: 'fail', SKIPPED: 'skip', XFAIL: 'skip' } as const)[m[1] as 'PASSED'];
  // pytest progress: `test_x.py ..F.s   [ 60%]`: one character per test.
  m = /^\S+\.py ([.FEsxX]+)\s*(\[\s*\d+%\])?$/.exec(line);
  if (m) return [...m[1]!].map((c) => (c === '.' || c === 'X' ? 'pass' : c === 'F' || c === 'E' ? 'fail' : 'skip'));
  return undefined;
}

/**
 * Live counts while the tests run. Summary blocks repeat failing tests (`✖ failing tests:`,
 * jest's `●`), so counting stops at the first summary line; the final counts come from the parsers.
 */
export class LiveCounter {
  pass = 0;
  fail = 0;
  skip = 0;
  /** jest without per-test lines prints one PASS/FAIL line per test file. */
  filesPassed = 0;
  filesFailed = 0;
  private done = false;

  /** Feed one line; true when a count changed. */
  line(raw: string): boolean {
    if (this.done) return false;
    const line = stripAnsi(raw);
    if (/^(#|ℹ) tests \d+|^✖ failing tests:|^\s*Tests:?\s+\d|^=+ (short test summary|FAILURES)/.test(line)) {
      this.done = true;
      return false;
    }
    const file = /^(PASS|FAIL) \S/.exec(line);
    if (file) return file[1] === 'PASS' ? this.filesPassed++ : this.filesFailed++, true;
    const v = classifyLine(line);
    if (!v) return false;
    for (const x of Array.isArray(v) ? v : [v]) this[x]++;
    return true;
  }

  text(): string {
    if (!this.pass && !this.fail && !this.skip && this.filesPassed + this.filesFailed) return `${this.filesPassed} test files passed, ${this.filesFailed} failed`;
    return `${this.pass} passed, ${this.fail} failed${this.skip ? `, ${this.skip} skipped` : ''}`;
  }
}
