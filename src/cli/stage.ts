/** `pier build|test|scan|loadtest|publish`: one stage (and what it needs), from the stage registry. */
import { stageDef, type StageName } from '../pipeline/stages/index.ts';
import { flagsHelp, runFromCli } from './pipeline-run.ts';

export function stageHelp(name: StageName): string {
  const { summary } = stageDef(name);
  return `Usage: pier ${name} [--config FILE] [--json] [--allow-missing-scanner] [--no-cache]

${summary[0]!.toUpperCase()}${summary.slice(1)}.
Writes .pier/runs/<id>/report.json and prints its path (--json: the report itself).

${flagsHelp}`;
}

export function runStage(name: StageName, argv: string[]): Promise<number> {
  return runFromCli(argv, stageHelp(name), name);
}
