import { flagsHelp, runFromCli } from './pipeline-run.ts';

export const summary = "run the pipeline: build, test, scan, loadtest, publish; stop at the first failed gate";

export const help = `Usage: pier ci [options]

${summary[0]!.toUpperCase()}${summary.slice(1)}.
Writes .pier/runs/<id>/report.json and prints its path (--json: the report itself).

${flagsHelp}`;

export function run(argv: string[]): Promise<number> {
  return runFromCli(argv, help);
}
