/**
 * The report of one `pier env up` (`.pier/runs/<id>/report.json`, secrets redacted): what was
 * started, how long it took to be healthy, or which service failed and why.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactObject } from '../util/redact.ts';
import type { ServiceState } from './status.ts';

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
  const dir = join(root, '.pier', 'runs', report.runId);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'report.json');
  writeFileSync(file, `${JSON.stringify(redactObject(report), null, 2)}\n`);
  return file;
}
