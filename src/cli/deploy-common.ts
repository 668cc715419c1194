/** Shared by the deploy-family verbs: load config + environment, resolve the target, write reports. */
import { relative } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { resolveTarget, type DeployTarget } from '../deploy/target.ts';
import { UsageError } from '../util/errors.ts';
import { runDirFor, writeRunReport } from '../util/run-report.ts';

/** Config for `env` resolved into a deploy target. */
export function targetFor(env: string | undefined, configFile: string | undefined, verb: string): DeployTarget {
  if (!env) throw new UsageError(`missing environment: pier ${verb} <env>`, 'environments are the files in environments/, e.g. production');
  return resolveTarget(loadConfig({ configFile, env }));
}

/** Write `.pier/runs/<id>/report.json` (secrets redacted) beside the project; returns its path relative to cwd. */
export function writeReport(target: DeployTarget, runId: string, report: unknown): string {
  const file = writeRunReport(runDirFor(target.root, runId), report);
  return relative(process.cwd(), file) || file;
}
