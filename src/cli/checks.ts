import { runEnvChecks } from '../release/env-checks.ts';
import { formatCheck } from '../release/checks.ts';
import { newRunId } from '../util/run-id.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor } from './deploy-common.ts';
import { abortOnSigint, finishRelease } from './release-common.ts';

export const help = `Usage: pier checks <env> [--smoke] [--config FILE] [--json]

Run the checks: commands of environments/<env>.yaml (--smoke: its smoke: commands) on this machine
against what <env> serves, with BASE_URL set to the environment's url. Each command's exit code,
time, test counts (node:test, vitest, jest, pytest, go test output, or its JUnit reports) and last
output lines go to the report. The verdict is recorded on <env>'s hosts by image digest: it is what
pier promote <env> <other> accepts.

Exit: 0 every check passed; 1 one failed; 2 bad usage or config; 3 hosts unreachable.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...commonOptions, smoke: { type: 'boolean' } });
  if (values.help) return console.log(help), 0;
  const target = targetFor(positionals[0], values.config, 'checks');
  const runId = newRunId();
  const sig = abortOnSigint();
  try {
    const r = await runEnvChecks(target, values.smoke ? 'smoke' : 'checks', { runId, signal: sig.signal });
    return finishRelease(target, {
      run: runId, command: `${r.kind} ${target.envName}`, version: r.version, digest: r.digest, ok: r.ok, exitCode: r.ok ? 0 : 1, seconds: r.seconds,
      steps: [{ name: r.kind, env: target.envName, status: r.ok ? 'passed' : 'failed', seconds: r.seconds, summary: r.results.map(formatCheck).join('\n'), detail: r }],
    }, values.json);
  } finally {
    sig.off();
  }
}
