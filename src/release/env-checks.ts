/**
 * `checks:` / `smoke:` of an environment against what it serves now: every host must serve one
 * image (its digest is what the verdict is about), the commands run with BASE_URL = the
 * environment's url, and the verdict is recorded on the environment's hosts.
 */
import { withHosts } from '../deploy/fleet.ts';
import { webTarget } from '../deploy/target.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { UsageError } from '../util/errors.ts';
import { digestOf } from '../util/image-ref.ts';
import { newRunId } from '../util/run-id.ts';
import { formatCheck, runChecks, type CheckResult } from './checks.ts';
import { recordVerdict } from './verdict-store.ts';
import type { VerdictKind } from './verdicts.ts';

export interface EnvChecksReport {
  env: string;
  kind: Exclude<VerdictKind, 'guard'>;
  version: string;
  image: string;
  digest?: string;
  ok: boolean;
  seconds: number;
  results: CheckResult[];
  /** The verdict could not be written on any host (the run still says what happened). */
  unrecorded?: string;
}

export async function runEnvChecks(target: DeployTarget, kind: 'checks' | 'smoke', opts: { log?: (l: string) => void; signal?: AbortSignal; runId?: string } = {}): Promise<EnvChecksReport> {
  const env = target.config?.env;
  const specs = kind === 'checks' ? (env?.checks ?? []) : (env?.smoke ?? []);
  if (!specs.length) throw new UsageError(`environments/${target.envName}.yaml has no ${kind}: configured`);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const runId = opts.runId ?? newRunId();
  return withHosts(webTarget(target), async (ops) => {
    const cur = await Promise.all(ops.map((o) => o.readCurrent()));
    const images = new Set(cur.map((c) => c?.image ?? '(nothing)'));
    if (images.size !== 1 || !cur[0]) throw new UsageError(`cannot run ${kind} of ${target.envName}: its hosts do not serve one release (${ops.map((o, i) => `${o.name}: ${cur[i]?.version ?? 'nothing'}`).join(', ')})`, `pier status ${target.envName}`);
    const { version, image } = cur[0];
    const digest = digestOf(image);
    log(`${kind} of ${target.envName} against ${version}${digest ? ` (${digest.slice(0, 19)})` : ''}${env?.url ? ` at ${env.url}` : ''}`);
    const t0 = Date.now();
    const run = await runChecks(specs, {
      baseUrl: env?.url, envName: target.envName, version, image, cwd: target.root, signal: opts.signal,
      onLine: (name, line) => log(`  ${name} | ${line}`),
    });
    for (const r of run.results) log(`  ${formatCheck(r)}`);
    const report: EnvChecksReport = { env: target.envName, kind, version, image, ...(digest ? { digest } : {}), ok: run.ok, seconds: (Date.now() - t0) / 1000, results: run.results };
    if (digest) {
      const detail = run.results.map((r) => `${r.name} ${r.ok ? 'passed' : 'failed'}${r.counts ? ` (${r.counts.pass} passed, ${r.counts.fail} failed)` : ` (exit ${r.exitCode ?? 'none'})`}`);
      await recordVerdict(ops, { env: target.envName, kind, version, digest, ok: run.ok, at: new Date().toISOString(), by: target.by, run: runId, detail }).catch((e: Error) => {
        report.unrecorded = e.message;
        log(`  ! verdict not recorded: ${e.message}`);
      });
    }
    return report;
  });
}
