// Findings beyond the fixture reports: every field of the SARIF log, a trivy report's optional
// fields and unknown severities, the ignore file's comments and exp: day itself, the table.
import { describe, expect, it } from 'vitest';
import { applyPolicy, findingsTable, parseIgnoreFile, toSarif, type Finding } from '../../../src/pipeline/findings.ts';
import { parseTrivyReport, trivy, trivyArgs } from '../../../src/pipeline/scanners/trivy.ts';

const f = (over: Partial<Finding>): Finding => ({ id: 'CVE-1', severity: 'HIGH', pkg: 'openssl', installed: '1.0', target: 'debian', ...over });

describe('SARIF 2.1.0 log', () => {
  it('every field of a run: tool, rules once per ID, results with level, message and location', () => {
    const findings = [
      f({ id: 'CVE-1', severity: 'CRITICAL', fixed: '1.1', title: 'overflow', url: 'https://avd.example/CVE-1' }),
      f({ id: 'CVE-2', severity: 'LOW', pkg: 'zlib', installed: '2.0' }),
      f({ id: 'CVE-1', severity: 'CRITICAL', pkg: 'libssl', installed: '1.0', fixed: '1.1' }),
      f({ id: 'CVE-3', severity: 'MEDIUM' }),
      f({ id: 'CVE-4', severity: 'UNKNOWN' }),
    ];
    const log = toSarif(findings, 'registry/app:1.0', { ...trivy.sarif, version: '0.50.0' }) as any;
    expect(log.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0];
    expect(run.tool.driver).toMatchObject({ name: 'Trivy', informationUri: 'https://github.com/aquasecurity/trivy', version: '0.50.0' });
    expect(run.tool.driver.rules).toEqual([
      { id: 'CVE-1', name: 'OsPackageVulnerability', shortDescription: { text: 'overflow' }, helpUri: 'https://avd.example/CVE-1', properties: { tags: ['vulnerability', 'security', 'CRITICAL'] } },
      { id: 'CVE-2', name: 'OsPackageVulnerability', shortDescription: { text: 'CVE-2' }, properties: { tags: ['vulnerability', 'security', 'LOW'] } },
      { id: 'CVE-3', name: 'OsPackageVulnerability', shortDescription: { text: 'CVE-3' }, properties: { tags: ['vulnerability', 'security', 'MEDIUM'] } },
      { id: 'CVE-4', name: 'OsPackageVulnerability', shortDescription: { text: 'CVE-4' }, properties: { tags: ['vulnerability', 'security', 'UNKNOWN'] } },
    ]);
    expect(run.results.map((r: any) => [r.ruleId, r.ruleIndex, r.level])).toEqual([
      ['CVE-1', 0, 'error'],
      ['CVE-2', 1, 'note'],
      ['CVE-1', 0, 'error'],
      ['CVE-3', 2, 'warning'],
      ['CVE-4', 3, 'note'],
    ]);
    expect(run.results[0].message.text).toBe('Package: openssl\nInstalled Version: 1.0\nVulnerability CVE-1\nSeverity: CRITICAL\nFixed Version: 1.1');
    expect(run.results[1].message.text).toBe('Package: zlib\nInstalled Version: 2.0\nVulnerability CVE-2\nSeverity: LOW\nFixed Version: ');
    expect(run.results[2].locations).toEqual([
      {
        physicalLocation: { artifactLocation: { uri: 'registry/app:1.0', uriBaseId: 'ROOTPATH' }, region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 } },
        message: { text: 'registry/app:1.0: libssl@1.0' },
      },
    ]);
    const high = toSarif([f({})], 'a', trivy.sarif) as any;
    expect(high.runs[0].results[0].level).toBe('error');
    expect(high.runs[0].tool.driver.version).toBe('unknown');
    expect((toSarif([], 'a', trivy.sarif) as any).runs[0]).toMatchObject({ results: [], tool: { driver: { rules: [] } } });
  });
});

describe('trivy report parsing', () => {
  it('optional fields only when present; unknown or missing severity is UNKNOWN; missing names are empty', () => {
    const doc = {
      SchemaVersion: 2,
      Results: [
        { Target: 'debian 12', Vulnerabilities: [{ VulnerabilityID: 'CVE-9', PkgName: 'bash', InstalledVersion: '5.2', FixedVersion: '5.3', Status: 'fixed', Severity: 'HIGH', Title: 't', PrimaryURL: 'https://u' }] },
        { Vulnerabilities: [{ Severity: 'SEVERE' }, { FixedVersion: '', Title: '' }] },
        { Target: 'node-pkg' },
      ],
    };
    expect(parseTrivyReport(JSON.stringify(doc))).toEqual([
      { id: 'CVE-9', severity: 'HIGH', pkg: 'bash', installed: '5.2', fixed: '5.3', status: 'fixed', title: 't', url: 'https://u', target: 'debian 12' },
      { id: 'UNKNOWN-ID', severity: 'UNKNOWN', pkg: '', installed: '', target: '' },
      { id: 'UNKNOWN-ID', severity: 'UNKNOWN', pkg: '', installed: '', target: '' },
    ]);
  });

  it('says what it got instead of a report', () => {
    expect(() => parseTrivyReport('{"SchemaVersion":1}')).toThrow('not a trivy JSON report (expected SchemaVersion 2, got 1)');
    expect(() => parseTrivyReport('null')).toThrow('not a trivy JSON report (expected SchemaVersion 2, got undefined)');
    expect(() => parseTrivyReport('"text"')).toThrow('not a trivy JSON report');
    expect(() => parseTrivyReport('{')).toThrow(/^trivy report is not JSON: /);
  });

  it('arguments: JSON of every vulnerability, exit 0, quiet; a cache directory only when given', () => {
    expect(trivyArgs('/in.tar', '/out.json')).toEqual(['image', '--input', '/in.tar', '--format', 'json', '--output', '/out.json', '--scanners', 'vuln', '--exit-code', '0', '--quiet']);
    expect(trivyArgs('/in.tar', '/out.json', '')).not.toContain('--cache-dir');
    expect(trivy.name).toBe('trivy');
    expect(trivy.hint).toMatch(/--allow-missing-scanner/);
  });
});

describe('ignore file and policy', () => {
  it('comments, blank lines and indentation are skipped; lines keep their numbers', () => {
    const { entries, problems } = parseIgnoreFile('# header\n\n  CVE-1   # why\nCVE-2 exp:2030-01-31\r\nCVE-3 exp:2030-1-1 extra\n');
    expect(entries).toEqual([{ id: 'CVE-1', line: 3 }, { id: 'CVE-2', exp: '2030-01-31', line: 4 }, { id: 'CVE-3', line: 5 }]);
    expect(problems).toEqual(['line 5: unexpected "exp:2030-1-1" (expected exp:YYYY-MM-DD)', 'line 5: unexpected "extra" (expected exp:YYYY-MM-DD)']);
  });

  it('several spaces between ID and date; exp: must be the whole word', () => {
    expect(parseIgnoreFile('CVE-1   exp:2030-01-31\n')).toEqual({ entries: [{ id: 'CVE-1', exp: '2030-01-31', line: 1 }], problems: [] });
    expect(parseIgnoreFile('CVE-1 xexp:2030-01-31 exp:2030-01-31x\n').problems).toEqual([
      'line 1: unexpected "xexp:2030-01-31" (expected exp:YYYY-MM-DD)',
      'line 1: unexpected "exp:2030-01-31x" (expected exp:YYYY-MM-DD)',
    ]);
  });

  it('a file with CRLF line ends: comments after an entry are still comments', () => {
    expect(parseIgnoreFile('CVE-1 # accepted risk\r\nCVE-2 exp:2030-01-31 # until the fix\r\n')).toEqual({
      entries: [{ id: 'CVE-1', line: 1 }, { id: 'CVE-2', exp: '2030-01-31', line: 2 }],
      problems: [],
    });
  });

  it('an entry still applies on its exp: day and expires the day after', () => {
    const all = [f({ id: 'CVE-1' })];
    const ignores = [{ id: 'CVE-1', exp: '2030-01-31', line: 1 }];
    const on = applyPolicy(all, { failOn: ['HIGH'], ignoreUnfixed: false, ignores, today: '2030-01-31' });
    expect(on).toMatchObject({ findings: [], failing: [], ignored: all, expired: [] });
    const after = applyPolicy(all, { failOn: ['HIGH'], ignoreUnfixed: false, ignores, today: '2030-02-01' });
    expect(after).toMatchObject({ findings: all, failing: all, ignored: [], expired: ignores });
  });

  it('counts every severity; ignore-unfixed counts what it dropped; only failOn severities fail', () => {
    const all = [f({ id: 'a', severity: 'CRITICAL', fixed: '2' }), f({ id: 'b', severity: 'LOW' }), f({ id: 'c', severity: 'MEDIUM', fixed: '2' }), f({ id: 'd', severity: 'UNKNOWN', fixed: '1' })];
    const r = applyPolicy(all, { failOn: ['MEDIUM'], ignoreUnfixed: true, ignores: [], today: '2030-01-01' });
    expect(r.counts).toEqual({ CRITICAL: 1, HIGH: 0, MEDIUM: 1, LOW: 0, UNKNOWN: 1 });
    expect(r.unfixedIgnored).toBe(1);
    expect(r.failing.map((x) => x.id)).toEqual(['c']);
    const kept = applyPolicy(all, { failOn: [], ignoreUnfixed: false, ignores: [], today: '2030-01-01' });
    expect(kept.counts.LOW).toBe(1);
    expect(kept.unfixedIgnored).toBe(0);
    expect(kept.failing).toEqual([]);
  });

  it('the table: worst first, then package, then ID; "-" for no fix; none said plainly', () => {
    expect(findingsTable([])).toBe('  (no findings)');
    const table = findingsTable([f({ id: 'CVE-2', severity: 'LOW', pkg: 'zlib' }), f({ id: 'CVE-9', pkg: 'b', fixed: '1.1' }), f({ id: 'CVE-3', pkg: 'b' }), f({ id: 'CVE-1', severity: 'CRITICAL', pkg: 'z' })]);
    expect(table.split('\n')).toEqual([
      '  SEVERITY  PACKAGE  INSTALLED  FIXED  ID',
      '  CRITICAL  z        1.0        -      CVE-1',
      '  HIGH      b        1.0        -      CVE-3',
      '  HIGH      b        1.0        1.1    CVE-9',
      '  LOW       zlib     1.0        -      CVE-2',
    ]);
  });
});
