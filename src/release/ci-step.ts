/**
 * The first step of `pier release`: `pier ci --json` (build, test, scan, load test, publish) as a
 * child process of this very pier, and what its publish stage recorded: the tag and the digest
 * the release then deploys.
 */
import { join } from 'node:path';
import type { RunReport } from '../pipeline/report.ts';
import { exec } from '../util/exec.ts';
import { packageRoot } from '../util/package-root.ts';

export interface Published {
  /** The image tag (the release's version). */
  version: string;
  /** `sha256:...` the registry recorded. */
  digest: string;
  image: string;
}

/** The publish stage's tag and digest from a pipeline report (pure); undefined when it did not publish. */
export function publishedBy(report: RunReport): Published | undefined {
  const pub = report.stages.find((s) => s.name === 'publish' && s.status === 'passed');
  const image = pub?.figures.image;
  const digest = pub?.figures.digest;
  if (typeof image !== 'string' || typeof digest !== 'string') return undefined;
  const version = /:([^:/@]+)$/.exec(image)?.[1];
  return version ? { version, digest, image } : undefined;
}

export async function runCi(args: string[], cwd: string, onLine: (l: string) => void): Promise<{ exitCode: number; report?: RunReport; published?: Published; seconds: number }> {
  const t0 = Date.now();
  const r = await exec([process.execPath, join(packageRoot, 'bin', 'pier.js'), 'ci', '--json', ...args], {
    cwd, nothrow: true, onOutput: (chunk, stream) => (stream === 'stderr' ? chunk.split('\n').filter(Boolean).forEach((l) => onLine(l)) : undefined),
  });
  let report: RunReport | undefined;
  try {
    report = JSON.parse(r.stdout) as RunReport;
  } catch {
    // no report: the exit code says why
  }
  return { exitCode: r.code ?? 1, report, published: report ? publishedBy(report) : undefined, seconds: (Date.now() - t0) / 1000 };
}
