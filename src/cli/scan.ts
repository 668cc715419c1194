import { flagsHelp, runFromCli } from './pipeline-run.ts';

export const summary = "build, then scan the image with trivy against the policy in pier.yaml";

export const help = `Usage: pier scan [--config FILE] [--json] [--allow-missing-scanner] [--no-cache]

${summary[0]!.toUpperCase()}${summary.slice(1)}.
Writes .pier/runs/<id>/report.json and prints its path (--json: the report itself).

${flagsHelp}`;

export function run(argv: string[]): Promise<number> {
  return runFromCli(argv, help, 'scan');
}
