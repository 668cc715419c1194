/**
 * The report of one `pier env up` (`.pier/runs/<id>/report.json`, secrets redacted): what was
 * started, how long it took to be healthy, or which service failed and why.
 */
import type { ServiceState } from './status.ts';
import { runDirFor, writeRunReport } from '../util/run-report.ts';

export interface EnvUpReport {
  runId: string;
  command: 'env up';
  env: string;
  project: string;
  status: 'healthy' | 'failed';
  exitCode: number;
  startedAt: string;
  /** From the start of `up` to all healthy (absent when it failed before). */
  seconds?: number;
  /** App images built because the engine lacked them. */
  built: string[];
  services: ServiceState[];
  error?: string;
}

/** Write the report under `<root>/.pier/runs/<runId>/` and return its path. */
export function writeEnvReport(root: string, report: EnvUpReport): string {
  return writeRunReport(runDirFor(root, report.runId), report);
}
