/**
 * The run report (`.pier/runs/<id>/report.json`) and the human summary printed from it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactObject } from '../util/redact.ts';

import type { StageName } from './stages/index.ts';

export type { StageName };
export type StageStatus = 'passed' | 'failed' | 'skipped';

export interface StageReport {
  name: StageName;
  status: StageStatus;
  reason?: string;
  durationMs: number;
  figures: Record<string, unknown>;
}

export interface RunReport {
  runId: string;
  app: string;
  engine: string;
  status: 'passed' | 'failed';
  exitCode: number;
  startedAt: string;
  durationMs: number;
  stages: StageReport[];
  /** Files written next to the report (SARIF, HTML load-test report). */
  files: Record<string, string>;
  /** Findings table and other text the summary shows. */
  notes?: string[];
}

/** Write the report (secrets redacted) and return its path. */
export function writeReport(runDir: string, report: RunReport): string {
  mkdirSync(runDir, { recursive: true });
  const file = join(runDir, 'report.json');
  writeFileSync(file, `${JSON.stringify(redactObject(report), null, 2)}\n`);
  return file;
}

const FILE_LABEL: Record<string, string> = { sarif: 'SARIF', trivy: 'trivy report', loadtestHtml: 'load-test report (HTML)' };

const ICON: Record<StageStatus, string> = { passed: '✓', failed: '✗', skipped: '-' };

/** One line of figures per stage for the summary (pure). */
export function figureLine(s: StageReport): string {
  const f = s.figures as Record<string, any>;
  switch (s.name) {
    case 'build':
      return f.image ? `image ${f.image}` : '';
    case 'test':
      return f.tests !== undefined ? `${f.tests} tests, ${f.pass} passed, ${f.fail} failed` : f.exitCode !== undefined ? `exit ${f.exitCode}` : '';
    case 'scan':
      return f.findings ? Object.entries(f.findings as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ') : '';
    case 'loadtest':
      return f.p95Ms !== undefined
        ? `p50 ${f.p50Ms} ms, p95 ${f.p95Ms} ms, p99 ${f.p99Ms} ms, ${f.rps} req/s, errors ${(100 * f.errorRate).toFixed(2)}%`
        : '';
    case 'publish':
      return f.digest ? `${f.image}@${f.digest}` : '';
  }
}

/** The human summary of a run (pure). */
export function summary(r: RunReport, reportPath: string): string {
  const lines = [`pier ci ${r.runId}: ${r.status.toUpperCase()} in ${(r.durationMs / 1000).toFixed(1)} s (engine ${r.engine})`];
  for (const s of r.stages) {
    const fig = figureLine(s);
    const secs = s.status === 'skipped' ? '' : ` ${(s.durationMs / 1000).toFixed(1)}s`;
    lines.push(`  ${ICON[s.status]} ${s.name.padEnd(8)} ${s.status.padEnd(7)}${secs}${fig ? `  ${fig}` : ''}`);
    if (s.reason) lines.push(`      ${s.reason.split('\n').join('\n      ')}`);
  }
  for (const n of r.notes ?? []) lines.push(n);
  for (const [k, v] of Object.entries(r.files)) lines.push(`  ${FILE_LABEL[k] ?? k}: ${v}`);
  lines.push(`  report: ${reportPath}`);
  return lines.join('\n');
}
