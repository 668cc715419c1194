import { runCi } from '../release/ci-step.ts';
import { release } from '../release/release.ts';
import type { ReleaseStep } from '../release/report.ts';
import { UsageError } from '../util/errors.ts';
import { newRunId } from '../util/run-id.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { abortOnSigint, finishRelease } from './release-common.ts';

export const help = `Usage: pier release [--version TAG] [--from ENV] [--to ENV] [--no-guard] [--allow-missing-scanner] [--config FILE] [--json]

The whole release flow: pier ci (build, test, scan, load test, publish: the registry records the
digest) -> deploy that digest to staging -> staging's checks: (recorded by digest) -> deploy the
same digest to production (pier promote) -> production's smoke: -> the guard (deploy.guard).
Production never runs an image that staging did not pass: a failed check stops the release there.

  --version TAG    release an already-published tag instead of running pier ci
  --from / --to    the environments (default staging / production)
  --no-guard       skip the post-deploy guard

One report for the whole release (.pier/runs/<id>/report.json): each step, its figures, its time.
Exit: 0 released and held; 1 a gate said no (ci, deploy, checks, smoke, guard); 2 usage/config; 3 environment.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...commonOptions, version: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, 'no-guard': { type: 'boolean' }, 'allow-missing-scanner': { type: 'boolean' } }, false);
  if (values.help) return console.log(help), 0;
  if ((values.from ?? 'staging') === (values.to ?? 'production')) throw new UsageError(`--from and --to name the same environment (${values.to ?? 'production'})`);
  const staging = targetFor(values.from ?? 'staging', values.config, 'release');
  const production = targetFor(values.to ?? 'production', values.config, 'release');
  const runId = newRunId();
  const steps: ReleaseStep[] = [];
  let version = values.version;
  let digest: string | undefined;
  const t0 = Date.now();
  if (!version) {
    const ci = await runCi([...(values.config ? ['--config', values.config] : []), ...(values['allow-missing-scanner'] ? ['--allow-missing-scanner'] : [])], process.cwd(), (l) => console.error(l));
    const figures = ci.report?.stages.map((s) => `${s.name} ${s.status}`).join(', ') ?? `exit ${ci.exitCode}`;
    steps.push({ name: 'ci', status: ci.exitCode === 0 && ci.published ? 'passed' : 'failed', seconds: ci.seconds, summary: ci.published ? `${figures}; published ${ci.published.image} ${ci.published.digest}` : figures, detail: ci.report });
    if (!ci.published) {
      return finishRelease(production, { run: runId, command: 'release', ok: false, exitCode: ci.exitCode || 1, seconds: (Date.now() - t0) / 1000, steps, error: ci.exitCode === 0 ? 'pier ci did not publish (no publish stage result): nothing to release' : 'pier ci failed: nothing was deployed' }, values.json);
    }
    ({ version, digest } = ci.published);
  }
  const sig = abortOnSigint();
  try {
    const r = await release(staging, production, {
      version, runId, noGuard: values['no-guard'], signal: sig.signal, targetOf: (e) => targetFor(e, values.config, 'release'),
      deploy: { ...(digest ? { digest } : {}), beforeMigrate: async (c) => (await import('../db/deploy-hook.ts')).backupBeforeMigrate(c.target, c.serving, c.progress, c.sessions) },
    }, steps);
    return finishRelease(production, { ...r, seconds: (Date.now() - t0) / 1000 }, values.json);
  } finally {
    sig.off();
  }
}
