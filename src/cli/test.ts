import { flagsHelp, runFromCli } from './pipeline-run.ts';

export const summary = "build, then run the app's tests in its test target next to its sidecars";

export const help = `Usage: pier test [--config FILE] [--json] [--allow-missing-scanner] [--no-cache]

${summary[0]!.toUpperCase()}${summary.slice(1)}.
Writes .pier/runs/<id>/report.json and prints its path (--json: the report itself).

${flagsHelp}`;

export function run(argv: string[]): Promise<number> {
  return runFromCli(argv, help, 'test');
}
