/** The one run report of a release (or a promote, or a deploy with smoke and guard): each step, its figures and timing; a readable summary. Pure. */

export type StepStatus = 'passed' | 'failed' | 'skipped' | 'paused';

export interface ReleaseStep {
  name: string;
  /** The environment the step ran against. */
  env?: string;
  status: StepStatus;
  seconds: number;
  /** One line: what it found. */
  summary: string;
  /** Structured detail (deploy report, check results, analysis). */
  detail?: unknown;
}

export interface ReleaseReport {
  run: string;
  command: string;
  version?: string;
  digest?: string;
  ok: boolean;
  exitCode: number;
  seconds: number;
  steps: ReleaseStep[];
  error?: string;
}

/** The summary printed at the end. */
export function renderSummary(r: ReleaseReport): string {
  const mark: Record<StepStatus, string> = { passed: '✓', failed: '✗', skipped: '-', paused: '‖' };
  const lines = [
    `${r.command}${r.version ? ` ${r.version}` : ''}${r.digest ? ` (${r.digest.slice(0, 19)})` : ''}: ${r.ok ? 'done' : 'stopped'} in ${r.seconds.toFixed(1)}s`,
    ...r.steps.map((s) => `  ${mark[s.status]} ${`${s.name}${s.env ? ` ${s.env}` : ''}`.padEnd(22)} ${s.seconds.toFixed(1).padStart(6)}s  ${s.summary.split('\n').join('\n' + ' '.repeat(35))}`),
  ];
  if (r.error) lines.push(`  ${r.error}`);
  return lines.join('\n');
}
