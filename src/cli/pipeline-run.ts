/**
 * What `pier ci` and the single-stage verbs share: flags, engine set-up (Docker), reaping of
 * crashed runs, SIGINT cleanup, report writing and the summary / `--json` output.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { commonOptions, parse } from './args.ts';
import { interpolationVars, loadConfig } from '../config/load.ts';
import { assertEngine } from '../docker/client.ts';
import { reap } from '../docker/reap.ts';
import { ensureLocalRegistry } from '../docker/registry.ts';
import { openEngine, parseEngineChoice, selectEngine } from '../engine/select.ts';
import { findOnPath } from '../util/find-on-path.ts';
import { UsageError } from '../util/errors.ts';
import { redactObject } from '../util/redact.ts';
import { newRunId } from '../util/run-id.ts';
import { createProgress } from '../pipeline/progress.ts';
import { summary, writeReport, type StageName } from '../pipeline/report.ts';
import { runDirFor, runPipeline, selectStages } from '../pipeline/runner.ts';
import { runPreBuild } from '../hooks/points.ts';

export const pipelineOptions = {
  ...commonOptions,
  env: { type: 'string', short: 'e' },
  only: { type: 'string', multiple: true },
  skip: { type: 'string', multiple: true },
  'allow-missing-scanner': { type: 'boolean' },
  'no-cache': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  engine: { type: 'string' },
} as const;

export const flagsHelp = `Options:
  -c, --config FILE          pier.yaml to use (default: nearest one upwards)
      --only STAGE[,STAGE]   run only these stages (build is added when needed)
      --skip STAGE[,STAGE]   leave these stages out
      --allow-missing-scanner  when no trivy can be obtained, mark scan skipped instead of exit 3
      --no-cache             build without BuildKit's cache
      --engine auto|docker|dagger  engine for the stages (auto: Dagger in a Dagger session or with a dagger CLI on PATH, else Docker)
      --json                 print the report on stdout instead of the summary
  -q, --quiet                no progress output
Exit codes: 0 ok, 1 a gate failed, 2 usage/config, 3 environment (130 when interrupted).`;

/** Run the pipeline from CLI flags; `fixed` pins the stages for single-stage verbs. */
export async function runFromCli(argv: string[], help: string, fixed?: StageName): Promise<number> {
  const { values } = parse(argv, pipelineOptions, false);
  if (values.help) return console.log(help), 0;
  if (fixed && (values.only || values.skip)) throw new UsageError(`--only/--skip do not apply to pier ${fixed}`);
  const config = loadConfig({ configFile: values.config, env: values.env });
  const selection = selectStages(fixed ? [fixed] : values.only, values.skip);
  const runId = newRunId();
  // hooks.preBuild: before the engine is touched or anything built; a failing command stops the run (exit 1).
  if (selection.run.includes('build')) await runPreBuild(config, runId);
  const decision = selectEngine(parseEngineChoice(values.engine), process.env, findOnPath('dagger'));
  if (decision.engine === 'docker') {
    await assertEngine();
    await reap().catch(() => undefined); // leftovers of crashed runs (dead pids on this host)
  }
  const runDir = runDirFor(config.root, runId);
  mkdirSync(runDir, { recursive: true });
  const engine = await openEngine(decision, { runId, noCache: values['no-cache'] }); // Dagger: exit 3 when it cannot connect
  const progress = createProgress(process.stderr, { quiet: values.quiet });
  const ac = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130); // second Ctrl-C: give up waiting
    interrupted = true;
    progress.note('interrupted: cleaning up');
    ac.abort();
    void engine.close();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const vars = interpolationVars(config.root);
  const registryImage = vars.PIER_REGISTRY_IMAGE ?? 'registry:2';
  try {
    const report = await runPipeline({
      config,
      engine,
      runDir,
      selection,
      progress,
      signal: ac.signal,
      options: { allowMissingScanner: values['allow-missing-scanner'] },
      hooks: {
        prepareRegistry: async (address) => {
          if (engine.name !== 'docker') return; // a Dagger engine does not share this host's 127.0.0.1
          if ((await ensureLocalRegistry(address, registryImage)) === 'started') progress.note(`started a local registry on ${address}`);
        },
      },
    });
    if (interrupted) report.exitCode = 130;
    const file = writeReport(runDir, report);
    if (values.json) console.log(readFileSync(file, 'utf8').trimEnd());
    else console.log(summary(redactObject(report), file));
    return report.exitCode;
  } finally {
    await engine.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
