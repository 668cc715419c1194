/**
 * Scanner-independent findings: the severity scale, pier's policy (failing severities,
 * ignore-unfixed, an ignore file with `exp:` dates), SARIF 2.1.0 and the findings table. Pure.
 * A scanner (src/pipeline/scanners/) only turns its own report into `Finding`s.
 */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  id: string;
  severity: Severity;
  pkg: string;
  installed: string;
  /** Absent when no fix exists (trivy omits the key). */
  fixed?: string;
  status?: string;
  title?: string;
  target: string;
  url?: string;
}

export interface IgnoreEntry {
  id: string;
  /** YYYY-MM-DD after which the entry no longer applies. */
  exp?: string;
  line: number;
}

/** Parse an ignore file (`.trivyignore` format): one ID per line, `#` comments, optional `exp:YYYY-MM-DD`. */
export function parseIgnoreFile(text: string): { entries: IgnoreEntry[]; problems: string[] } {
  const entries: IgnoreEntry[] = [];
  const problems: string[] = [];
  // CRLF too: with the \r left on, `#.*$` misses a comment at the end of the line.
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [id, ...rest] = line.split(/\s+/);
    const entry: IgnoreEntry = { id: id!, line: i + 1 };
    for (const r of rest) {
      const m = /^exp:(\d{4}-\d{2}-\d{2})$/.exec(r);
      if (m) entry.exp = m[1];
      else problems.push(`line ${i + 1}: unexpected "${r}" (expected exp:YYYY-MM-DD)`);
    }
    entries.push(entry);
  });
  return { entries, problems };
}

export interface Policy {
  failOn: Severity[];
  ignoreUnfixed: boolean;
  ignores: IgnoreEntry[];
  /** Today as YYYY-MM-DD (injectable for tests). */
  today: string;
}

export interface PolicyResult {
  /** Findings that count (after ignore-unfixed and the ignore file). */
  findings: Finding[];
  counts: Record<Severity, number>;
  /** Findings at a failing severity: the gate fails when there is any. */
  failing: Finding[];
  ignored: Finding[];
  unfixedIgnored: number;
  /** Ignore entries past their `exp:` date: they no longer apply and are reported. */
  expired: IgnoreEntry[];
}

/** Apply pier's scan policy to findings. An expired ignore entry is treated as absent. */
export function applyPolicy(all: Finding[], p: Policy): PolicyResult {
  const expired = p.ignores.filter((e) => e.exp && e.exp < p.today);
  const active = new Set(p.ignores.filter((e) => !e.exp || e.exp >= p.today).map((e) => e.id));
  const findings: Finding[] = [];
  const ignored: Finding[] = [];
  let unfixedIgnored = 0;
  for (const f of all) {
    if (p.ignoreUnfixed && !f.fixed) unfixedIgnored++;
    else if (active.has(f.id)) ignored.push(f);
    else findings.push(f);
  }
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  const failing = findings.filter((f) => p.failOn.includes(f.severity));
  return { findings, counts, failing, ignored, unfixedIgnored, expired };
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  UNKNOWN: 'note',
};

/** Who produced the findings, as SARIF names the tool. */
export interface SarifTool {
  name: string;
  informationUri: string;
  /** `name` of every rule (e.g. trivy's `OsPackageVulnerability`). */
  ruleName: string;
  version?: string;
}

/** A SARIF 2.1.0 log of findings for code-scanning upload (levels as trivy maps them). */
export function toSarif(findings: Finding[], artifact: string, tool: SarifTool): object {
  const rules = new Map<string, object>();
  for (const f of findings) {
    if (!rules.has(f.id)) {
      rules.set(f.id, {
        id: f.id,
        name: tool.ruleName,
        shortDescription: { text: f.title ?? f.id },
        ...(f.url ? { helpUri: f.url } : {}),
        properties: { tags: ['vulnerability', 'security', f.severity] },
      });
    }
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: tool.name, informationUri: tool.informationUri, version: tool.version ?? 'unknown', rules: [...rules.values()] } },
        results: findings.map((f) => ({
          ruleId: f.id,
          ruleIndex: [...rules.keys()].indexOf(f.id),
          level: SARIF_LEVEL[f.severity],
          message: {
            text: `Package: ${f.pkg}\nInstalled Version: ${f.installed}\nVulnerability ${f.id}\nSeverity: ${f.severity}\nFixed Version: ${f.fixed ?? ''}`,
          },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: artifact, uriBaseId: 'ROOTPATH' }, region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 } },
              message: { text: `${artifact}: ${f.pkg}@${f.installed}` },
            },
          ],
        })),
      },
    ],
  };
}

/** The findings table of the summary: severity, package, installed, fixed, ID (worst first). */
export function findingsTable(findings: Finding[]): string {
  if (!findings.length) return '  (no findings)';
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  const rows = [...findings]
    .sort((a, b) => rank(a.severity) - rank(b.severity) || a.pkg.localeCompare(b.pkg) || a.id.localeCompare(b.id))
    .map((f) => [f.severity, f.pkg, f.installed, f.fixed ?? '-', f.id]);
  const head = ['SEVERITY', 'PACKAGE', 'INSTALLED', 'FIXED', 'ID'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n');
}
