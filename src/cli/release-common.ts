/** Shared by `pier release`, `pier promote`, `pier guard`, `pier checks`: report writing and the summary. */
import type { DeployTarget } from '../deploy/target.ts';
import { renderSummary, type ReleaseReport } from '../release/report.ts';
import { writeReport } from './deploy-common.ts';

/** Write the report, print the summary (or the JSON), return the exit code. */
export function finishRelease(target: DeployTarget, report: ReleaseReport, json: boolean | undefined): number {
  const path = writeReport(target, report.run, report);
  if (json) console.log(JSON.stringify(report, null, 2));
  console.error(`\n${renderSummary(report)}\nreport: ${path}`);
  return report.exitCode;
}

/**
 * First Ctrl-C aborts (the command stops at its next step boundary and cleans up); the second
 * leaves now. The messages say what each does for the command at hand.
 */
export function abortOnSigint(
  first = 'interrupt: stopping after the current step (Ctrl-C again to leave now)',
  second?: string,
): { signal: AbortSignal; off(): void } {
  const ac = new AbortController();
  let n = 0;
  const on = () => {
    n += 1;
    if (n === 1) {
      console.error(`\n${first}`);
      ac.abort();
    } else {
      if (second) console.error(`\n${second}`);
      process.exit(130);
    }
  };
  process.on('SIGINT', on);
  return { signal: ac.signal, off: () => process.off('SIGINT', on) };
}
