/**
 * Scan stage: the scanner (trivy) on the image tarball to JSON, as a local binary or its pinned
 * image through the engine; pier's policy on the findings; SARIF + table. Nothing here is
 * trivy's own: that is src/pipeline/scanners/trivy.ts behind the `Scanner` interface.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImageUnavailableError } from '../../engine/types.ts';
import { ConfigError, EnvironmentError } from '../../util/errors.ts';
import { exec } from '../../util/exec.ts';
import { findOnPath } from '../../util/find-on-path.ts';
import type { StageContext, StageOutcome } from '../context.ts';
import { applyPolicy, findingsTable, parseIgnoreFile, toSarif, type Severity } from '../findings.ts';
import { trivy } from '../scanners/trivy.ts';
import type { Scanner } from '../scanners/types.ts';

/** The scanner the stage runs (pipeline.scan.binary / .image name its executable / image). */
const scanner: Scanner = trivy;

class ScannerMissing extends Error {}

async function runBinary(ctx: StageContext, bin: string, tar: string, out: string): Promise<void> {
  const r = await exec([bin, ...scanner.args(tar, out)], { cwd: ctx.runDir, nothrow: true, signal: ctx.signal, timeoutMs: 15 * 60_000 });
  if (r.code !== 0) {
    throw new EnvironmentError(`${scanner.name} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n')}`);
  }
  if (!existsSync(out)) throw new EnvironmentError(`${scanner.name} exited 0 but wrote no report at ${out}`);
}

async function runImage(ctx: StageContext, image: string): Promise<string> {
  const runtime = ctx.state.runtime!;
  try {
    const r = await ctx.engine.run({
      image,
      command: scanner.args('/scan/image.tar', '/scan/report.json', '/cache'),
      mounts: [
        { imageTarball: runtime, target: '/scan/image.tar' },
        { cache: scanner.name, target: '/cache' },
      ],
      outputs: ['/scan/report.json'],
      timeoutMs: 15 * 60_000,
    });
    if (r.exitCode !== 0) throw new EnvironmentError(`${scanner.name} (${image}) failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-8).join('\n')}`);
    const report = r.files['/scan/report.json'];
    if (!report) throw new EnvironmentError(`${scanner.name} (${image}) exited 0 but wrote no report`);
    return report;
  } catch (err) {
    if (err instanceof ImageUnavailableError) throw new ScannerMissing(`no ${scanner.name} binary on PATH and ${err.message}`);
    throw err;
  }
}

export async function scanStage(ctx: StageContext): Promise<StageOutcome> {
  const cfg = ctx.config.pipeline.scan;
  const runtime = ctx.state.runtime;
  if (!runtime) throw new Error('scan stage needs the runtime image: build first');
  const reportFile = join(ctx.runDir, `${scanner.name}.json`);
  let used: string; // the binary or image that ran (figure `scanner`)
  let json: string;
  try {
    const bin = cfg.binary ? resolve(ctx.config.root, cfg.binary) : findOnPath(scanner.name);
    if (cfg.binary && !existsSync(bin!)) throw new ScannerMissing(`pipeline.scan.binary ${bin} does not exist`);
    if (bin) {
      used = bin;
      const tar = join(ctx.runDir, 'image.tar');
      ctx.progress.live('exporting image tarball');
      await ctx.engine.exportTarball(runtime, tar);
      try {
        ctx.progress.live(`${scanner.name} ${bin}`);
        await runBinary(ctx, bin, tar, reportFile);
      } finally {
        rmSync(tar, { force: true });
      }
      json = readFileSync(reportFile, 'utf8');
    } else {
      used = cfg.image;
      ctx.progress.live(`${scanner.name} image ${cfg.image}`);
      json = await runImage(ctx, cfg.image);
      writeFileSync(reportFile, json);
    }
  } catch (err) {
    if (!(err instanceof ScannerMissing)) throw err;
    const reason = `${scanner.name} unavailable: ${err.message}`;
    if (ctx.options.allowMissingScanner) return { status: 'skipped', reason: `${reason} (--allow-missing-scanner)`, figures: {} };
    throw new EnvironmentError(reason, scanner.hint);
  }

  let findings;
  try {
    findings = scanner.parse(json);
  } catch (err) {
    throw new EnvironmentError(`${scanner.name} report ${reportFile}: ${(err as Error).message}`);
  }
  const ignorePath = resolve(ctx.config.root, cfg.ignoreFile);
  const ignore = existsSync(ignorePath) ? parseIgnoreFile(readFileSync(ignorePath, 'utf8')) : { entries: [], problems: [] };
  if (ignore.problems.length) {
    throw new ConfigError(ignore.problems.map((p) => ({ file: ignorePath, line: Number(/line (\d+)/.exec(p)?.[1]), path: '', message: p.replace(/^line \d+: /, '') })));
  }
  const today = ctx.options.today ?? new Date().toISOString().slice(0, 10);
  const policy = applyPolicy(findings, { failOn: cfg.failOn as Severity[], ignoreUnfixed: cfg.ignoreUnfixed, ignores: ignore.entries, today });
  const sarifFile = join(ctx.runDir, `${scanner.name}.sarif`);
  writeFileSync(sarifFile, `${JSON.stringify(toSarif(policy.findings, runtime.ref, scanner.sarif), null, 2)}\n`);
  ctx.files.sarif = sarifFile;
  ctx.files[scanner.name] = reportFile;
  ctx.notes.push(`  findings (${runtime.ref}):\n${findingsTable(policy.findings)}`);
  for (const e of policy.expired) ctx.notes.push(`  expired ignore: ${e.id} (exp:${e.exp}, ${ignorePath}:${e.line}) no longer applies`);
  const figures = {
    scanner: used,
    findings: policy.counts,
    total: policy.findings.length,
    failing: policy.failing.length,
    ignored: policy.ignored.length,
    unfixedIgnored: policy.unfixedIgnored,
    expiredIgnores: policy.expired.map((e) => ({ id: e.id, exp: e.exp, line: e.line })),
    failOn: cfg.failOn,
    sarif: sarifFile,
  };
  if (policy.failing.length) {
    const ids = [...new Set(policy.failing.map((f) => `${f.id} (${f.severity}, ${f.pkg})`))].slice(0, 5).join(', ');
    return { status: 'failed', reason: `${policy.failing.length} finding(s) at ${cfg.failOn.join('/')}: ${ids}`, figures };
  }
  return { status: 'passed', figures };
}
