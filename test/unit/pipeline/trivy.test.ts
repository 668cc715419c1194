import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trivyReportsDir } from '../../helpers/paths.ts';
import { applyPolicy, findingsTable, parseIgnoreFile, parseTrivyReport, toSarif, trivyArgs, type Finding } from '../../../src/pipeline/trivy.ts';

const dir = trivyReportsDir;
const load = (f: string) => readFileSync(join(dir, f), 'utf8');
const none = { failOn: ['HIGH', 'CRITICAL'] as const, ignoreUnfixed: false, ignores: [], today: '2026-11-23' };
const policy = (o: Partial<typeof none> = {}) => ({ ...none, ...o, failOn: [...(o.failOn ?? none.failOn)] });

describe('trivy invocation', () => {
  it('scans the tarball to JSON and leaves the gate to pier', () => {
    expect(trivyArgs('/r/image.tar', '/r/trivy.json')).toEqual([
      'image', '--input', '/r/image.tar', '--format', 'json', '--output', '/r/trivy.json', '--scanners', 'vuln', '--exit-code', '0', '--quiet',
    ]);
    expect(trivyArgs('/s/i.tar', '/s/r.json', '/cache').slice(-2)).toEqual(['--cache-dir', '/cache']);
  });
});

describe('trivy fixtures', () => {
  // Counts from test/fixtures/trivy-reports/README.md.
  const expected: Record<string, Record<string, number>> = {
    'alpine-39.json.golden': { CRITICAL: 2, HIGH: 0, MEDIUM: 4, LOW: 0, UNKNOWN: 0 },
    'debian-buster.json.golden': { CRITICAL: 1, HIGH: 0, MEDIUM: 0, LOW: 1, UNKNOWN: 0 },
    'fluentd-gems.json.golden': { CRITICAL: 1, HIGH: 1, MEDIUM: 0, LOW: 0, UNKNOWN: 0 },
    'npm.json.golden': { CRITICAL: 0, HIGH: 0, MEDIUM: 1, LOW: 0, UNKNOWN: 0 },
  };
  for (const [file, counts] of Object.entries(expected)) {
    it(`parses ${file} into the documented severity counts`, () => {
      const r = applyPolicy(parseTrivyReport(load(file)), policy());
      expect(r.counts).toEqual(counts);
      const gate = counts.CRITICAL! + counts.HIGH!;
      expect(r.failing.length).toBe(gate);
    });
  }

  it('keeps package, versions and the comma-separated fixed list (fluentd)', () => {
    const f = parseTrivyReport(load('fluentd-gems.json.golden'));
    const as = f.find((x) => x.id === 'CVE-2020-8165')!;
    expect(as).toMatchObject({ pkg: 'activesupport', installed: '6.0.2.1', fixed: '6.0.3.1, 5.2.4.3', severity: 'HIGH', target: 'Ruby' });
    expect(new Set(f.map((x) => x.target)).size).toBe(2);
  });

  it('the same CVE on two packages stays two findings (alpine-39)', () => {
    const f = parseTrivyReport(load('alpine-39.json.golden'));
    expect(f.filter((x) => x.id === 'CVE-2019-1549').map((x) => x.pkg).sort()).toEqual(['libcrypto1.1', 'libssl1.1']);
  });

  it('ignore-unfixed drops the finding without FixedVersion (debian-buster)', () => {
    const all = parseTrivyReport(load('debian-buster.json.golden'));
    const bash = all.find((x) => x.pkg === 'bash')!;
    expect(bash.fixed).toBeUndefined();
    const r = applyPolicy(all, policy({ ignoreUnfixed: true }));
    expect(r.counts.LOW).toBe(0);
    expect(r.unfixedIgnored).toBe(1);
    expect(r.counts.CRITICAL).toBe(1);
  });

  it('the npm repo report passes the default gate (MEDIUM only) but fails failOn MEDIUM', () => {
    const f = parseTrivyReport(load('npm.json.golden'));
    expect(applyPolicy(f, policy()).failing).toEqual([]);
    expect(applyPolicy(f, policy({ failOn: ['MEDIUM'] as never })).failing.map((x) => x.id)).toEqual(['CVE-2019-11358']);
  });

  it('.trivyignore entries apply until their exp: date, then are reported as expired', () => {
    const f = parseTrivyReport(load('fluentd-gems.json.golden'));
    const ids = f.filter((x) => x.severity === 'CRITICAL' || x.severity === 'HIGH').map((x) => x.id);
    expect(ids).toHaveLength(2);
    const text = `# accepted risks\n${ids[0]} exp:2099-01-01\n${ids[1]} exp:2020-01-01 # lapsed\n`;
    const { entries, problems } = parseIgnoreFile(text);
    expect(problems).toEqual([]);
    expect(entries).toEqual([{ id: ids[0], exp: '2099-01-01', line: 2 }, { id: ids[1], exp: '2020-01-01', line: 3 }]);
    const r = applyPolicy(f, policy({ ignores: entries as never }));
    expect(r.ignored.map((x) => x.id)).toEqual([ids[0]]);
    expect(r.expired.map((e) => e.id)).toEqual([ids[1]]);
    expect(r.failing.map((x) => x.id)).toEqual([ids[1]]);
    // The day the entry expires it still applies; the day after it does not.
    expect(applyPolicy(f, policy({ ignores: entries as never, today: '2020-01-01' })).failing).toEqual([]);
    // Without a date the entry never expires.
    expect(applyPolicy(f, policy({ ignores: ids.map((id, i) => ({ id, line: i + 1 })) as never })).failing).toEqual([]);
  });

  it('SARIF levels follow trivy (CRITICAL/HIGH error, MEDIUM warning, LOW note) and match the golden shape', () => {
    const golden = JSON.parse(load('alpine-310.sarif.golden'));
    const ours = toSarif(parseTrivyReport(load('alpine-39.json.golden')), 'img') as typeof golden;
    expect(ours.version).toBe(golden.version);
    expect(Object.keys(ours.runs[0].results[0]).sort()).toEqual(expect.arrayContaining(['ruleId', 'ruleIndex', 'level', 'message', 'locations']));
    const levels = new Set(ours.runs[0].results.map((r: { level: string }) => r.level));
    expect(levels).toEqual(new Set(['error', 'warning']));
    expect(golden.runs[0].results.every((r: { level: string }) => r.level === 'warning')).toBe(true);
    for (const r of ours.runs[0].results) expect(ours.runs[0].tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
  });
});

describe('trivy parsing errors and ignore-file problems', () => {
  it('rejects what is not a SchemaVersion 2 report', () => {
    expect(() => parseTrivyReport('{"version":"2.1.0"}')).toThrow(/SchemaVersion 2/);
    expect(() => parseTrivyReport('not json')).toThrow(/not JSON/);
    expect(parseTrivyReport('{"SchemaVersion":2}')).toEqual([]);
  });
  it('names the line of a bad ignore entry', () => {
    expect(parseIgnoreFile('CVE-1\nCVE-2 exp:soon\n').problems).toEqual(['line 2: unexpected "exp:soon" (expected exp:YYYY-MM-DD)']);
  });
  it('prints the findings table worst first', () => {
    const f: Finding[] = [
      { id: 'CVE-2', severity: 'LOW', pkg: 'b', installed: '1', target: 't' },
      { id: 'CVE-1', severity: 'CRITICAL', pkg: 'a', installed: '2.0', fixed: '2.1', target: 't' },
    ];
    expect(findingsTable(f)).toBe(
      ['  SEVERITY  PACKAGE  INSTALLED  FIXED  ID', '  CRITICAL  a        2.0        2.1    CVE-1', '  LOW       b        1          -      CVE-2'].join('\n'),
    );
  });
});
