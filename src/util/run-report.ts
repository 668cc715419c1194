/** Where a run keeps its files (`<root>/.pier/runs/<runId>/`) and the one writer of its `report.json`. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactObject } from './redact.ts';

export function runDirFor(root: string, runId: string): string {
  return join(root, '.pier', 'runs', runId);
}

/** Write `report.json` in `dir` (created if needed), secrets redacted; returns its path. */
export function writeRunReport(dir: string, report: unknown): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'report.json');
  writeFileSync(file, `${JSON.stringify(redactObject(report), null, 2)}\n`);
  return file;
}
