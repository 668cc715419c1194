/**
 * `pier init` end to end: scan the repository, detect, probe the health path on the built image
 * (when Docker is there and probing is wanted), render the files, validate them with pier's own
 * schemas, write what does not exist yet. Returns everything the CLI prints.
 */
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interpolationVars, validateFile } from '../config/load.ts';
import { interpolate } from '../config/interpolate.ts';
import { Environment, PierFile } from '../config/schema.ts';
import type { ConfigIssue } from '../util/errors.ts';
import { detect, type Detection } from './detect.ts';
import { probeHealth, probeSpec, type ProbeOptions, type ProbeResult } from './probe.ts';
import { plan, type PlannedFile } from './render.ts';
import { scanRepo } from './scan.ts';
import { applyPlan, type WriteResult } from './write.ts';

export interface InitOptions {
  probe?: boolean;
  dryRun?: boolean;
  probeOptions?: ProbeOptions;
}

export interface InitResult {
  root: string;
  detection: Detection;
  probe?: ProbeResult;
  healthPath: string;
  files: WriteResult[];
  /** What a person should check, one line each. */
  notes: string[];
  warnings: string[];
}

/** pier's JSON schemas relative to `root`, when pier is installed inside it (node_modules). */
export function schemaDirFor(root: string): string | undefined {
  const pkg = fileURLToPath(new URL('../../', import.meta.url));
  const rel = relative(root, resolve(pkg, 'schema')).split('\\').join('/');
  return rel && !rel.startsWith('..') && !rel.startsWith('/') ? rel : undefined;
}

/** Validate rendered pier.yaml and environment files with the same schemas `pier config` uses (pure). */
export function validatePlan(files: PlannedFile[], vars: Record<string, string | undefined>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const f of files) {
    if (f.path === 'pier.yaml') validateFile(f.path, f.content, PierFile, vars, issues);
    else if (/^environments\/[^/]+\.yaml$/.test(f.path)) validateFile(f.path, f.content, Environment, vars, issues);
  }
  return issues;
}

/** The multi-host state warning, when it applies (pure). */
export function stateWarning(d: Detection): string | undefined {
  if (!d.state.onDisk) return undefined;
  return (
    `${d.name.value} keeps state on local disk (${d.state.reasons.join('; ')}). Behind pier's proxy with more than one host, ` +
    'each host has its own copy: a write on one host is not read on another. Keep one host per environment, or move the state ' +
    `to a database every host reaches.${d.state.dirs.length ? ` app.volumes (${d.state.dirs.join(', ')}) keeps it across releases on each host.` : ''}`
  );
}

export async function runInit(dir: string, opts: InitOptions = {}): Promise<InitResult> {
  const root = resolve(dir);
  const detection = detect(scanRepo(root));
  const vars = interpolationVars(root);
  let probe: ProbeResult | undefined;
  if (opts.probe !== false && detection.dockerfile) {
    const buildArgs = interpolate(detection.buildArgs, vars) as Record<string, string>;
    probe = await probeHealth(probeSpec(root, detection, buildArgs), opts.probeOptions);
  }
  const healthPath = probe?.status === 'found' ? probe.path! : detection.health.value;
  const files = plan(detection, { schemaDir: schemaDirFor(root), healthPath });
  const issues = validatePlan(files, vars);
  if (issues.length) {
    // Never write a configuration pier itself would refuse.
    throw new Error(`pier init produced configuration its own validator rejects (a bug in pier init):\n${issues.map((i) => `  ${i.file}: ${i.path}: ${i.message}`).join('\n')}`);
  }
  const written = applyPlan(root, files, { dryRun: opts.dryRun });

  const notes = [...detection.notes];
  if (probe?.status === 'found' && probe.path !== detection.health.value) notes.push(`health path ${probe.path} answered 2xx on the built image (the files suggested ${detection.health.value})`);
  if (probe && probe.status !== 'found') {
    const why = probe.reason?.split('\n').filter((l) => l.trim());
    const detail = why?.length ? `: ${why[0]!.replace(/:$/, '')}${why.length > 1 ? ` (${why[why.length - 1]!.trim().slice(0, 200)})` : ''}` : '';
    notes.push(`health path not confirmed on the image (${probe.status}${detail}); check app.health.path`);
  }
  if (!probe) notes.push('health path not probed (--no-probe): check app.health.path');
  notes.push('pipeline.loadtest.path is the health path: point it at an endpoint that does real work');
  notes.push('environments/staging.yaml and production.yaml name example hosts (192.0.2.x): put in yours');
  const warnings = [stateWarning(detection)].filter((w): w is string => !!w);
  return { root, detection, probe, healthPath, files: written, notes, warnings };
}
