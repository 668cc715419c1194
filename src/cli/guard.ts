import { parseDuration } from '../analysis/duration.ts';
import { guard } from '../release/guard.ts';
import { UsageError } from '../util/errors.ts';
import { newRunId } from '../util/run-id.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { abortOnSigint, finishRelease } from './release-common.ts';
import { notifySteps } from '../notify/observed-deploy.ts';

export const help = `Usage: pier guard <env> [--window DURATION] [--no-rollback] [--config FILE] [--json]

Run the post-deploy analysis now against what <env> serves: deploy.guard's metrics (default: the
seeds' rules on the proxies' access logs: error rate > 5% for 2m, p95 > 2s for 5m, availability
< 95% for 1m) for its window (default 10m). A failed metric rolls every host back to its previous
release and names the metric, its rule and its figures; an inconclusive result pauses (release left
serving) or aborts (rolled back) as deploy.guard.inconclusive says.

  --window D       how long to watch (e.g. 90s, 5m; default deploy.guard.window)
  --no-rollback    report only: never switch anything

Exit: 0 the release held; 1 failed (rolled back) or inconclusive; 2 bad usage or config (or the hosts
serve different releases); 3 hosts unreachable.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, window: { type: 'string' }, 'no-rollback': { type: 'boolean' } });
  if (values.help) return console.log(help), 0;
  const window = values.window !== undefined ? parseDuration(values.window) : undefined;
  if (values.window !== undefined && window === undefined) throw new UsageError(`--window: "${values.window}" is not a duration (e.g. 90s, 5m, 1h)`);
  const target = targetFor(positionals[0], values.config, 'guard');
  const runId = newRunId();
  const t0 = Date.now();
  const sig = abortOnSigint();
  try {
    const g = await guard(target, { windowSeconds: window, rollback: !values['no-rollback'], runId, signal: sig.signal });
    const status = g.ok ? 'passed' : g.action === 'paused' ? 'paused' : 'failed';
    const steps = [{ name: 'guard', env: target.envName, status, seconds: g.seconds, summary: [`${g.phase}${g.action !== 'none' ? `, ${g.action}` : ''}${g.analysis.reasons.length ? `: ${g.analysis.reasons.join('; ')}` : ''}`, ...g.summary].join('\n'), detail: g }] as const;
    for (const w of await notifySteps(target, runId, g.version, [...steps])) console.error(`! ${w}`);
    return finishRelease(target, {
      run: runId, command: `guard ${target.envName}`, version: g.version, ok: g.ok, exitCode: g.exitCode, seconds: (Date.now() - t0) / 1000,
      steps: [...steps],
    }, values.json);
  } finally {
    sig.off();
  }
}
