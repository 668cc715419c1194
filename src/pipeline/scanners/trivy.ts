/**
 * trivy (github.com/aquasecurity/trivy): its invocation and its JSON report (SchemaVersion 2).
 * pier asks trivy for every finding (`--exit-code 0`) and applies its own policy.
 */
import type { Finding, Severity } from '../findings.ts';
import { SEVERITIES } from '../findings.ts';
import type { Scanner } from './types.ts';

/** trivy arguments scanning an image tarball to a JSON report; pier applies the policy itself. */
export function trivyArgs(input: string, output: string, cacheDir?: string): string[] {
  const args = ['image', '--input', input, '--format', 'json', '--output', output, '--scanners', 'vuln', '--exit-code', '0', '--quiet'];
  if (cacheDir) args.push('--cache-dir', cacheDir);
  return args;
}

interface TrivyVuln {
  VulnerabilityID?: string;
  PkgName?: string;
  InstalledVersion?: string;
  FixedVersion?: string;
  Status?: string;
  Severity?: string;
  Title?: string;
  PrimaryURL?: string;
}

/** Findings of a trivy JSON report (SchemaVersion 2). Throws on something that is not one. */
export function parseTrivyReport(json: string): Finding[] {
  let doc: { SchemaVersion?: number; Results?: { Target?: string; Vulnerabilities?: TrivyVuln[] }[] };
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new Error(`trivy report is not JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || doc.SchemaVersion !== 2) {
    throw new Error(`not a trivy JSON report (expected SchemaVersion 2, got ${JSON.stringify(doc?.SchemaVersion)})`);
  }
  const out: Finding[] = [];
  for (const r of doc.Results ?? []) {
    for (const v of r.Vulnerabilities ?? []) {
      const sev = (SEVERITIES as readonly string[]).includes(v.Severity ?? '') ? (v.Severity as Severity) : 'UNKNOWN';
      out.push({
        id: v.VulnerabilityID ?? 'UNKNOWN-ID',
        severity: sev,
        pkg: v.PkgName ?? '',
        installed: v.InstalledVersion ?? '',
        ...(v.FixedVersion ? { fixed: v.FixedVersion } : {}),
        ...(v.Status ? { status: v.Status } : {}),
        ...(v.Title ? { title: v.Title } : {}),
        ...(v.PrimaryURL ? { url: v.PrimaryURL } : {}),
        target: r.Target ?? '',
      });
    }
  }
  return out;
}

export const TRIVY_HINT =
  'provide trivy: install a trivy binary on PATH (or set pipeline.scan.binary), or make the pinned image pipeline.scan.image loadable (docker load); or pass --allow-missing-scanner to skip the scan';

export const trivy: Scanner = {
  name: 'trivy',
  args: trivyArgs,
  parse: parseTrivyReport,
  sarif: { name: 'Trivy', informationUri: 'https://github.com/aquasecurity/trivy', ruleName: 'OsPackageVulnerability' },
  hint: TRIVY_HINT,
};
