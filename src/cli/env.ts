import { loadConfig } from '../config/load.ts';
import { ensureAppImages } from '../compose/image.ts';
import { resolveEnvStack } from '../compose/environment.ts';
import { assertOwnProject } from '../compose/ownership.ts';
import { ComposeStack } from '../compose/stack.ts';
import { exec } from '../util/exec.ts';
import { dirname } from 'node:path';
import { formatTable } from '../compose/status.ts';
import { PierError, UsageError } from '../util/errors.ts';
import { newRunId } from '../util/run-id.ts';
import { redactObject } from '../util/redact.ts';
import { writeEnvReport, type EnvUpReport } from '../compose/report.ts';
import { commonOptions, parse } from './args.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier env <up|down|status|logs> <env> [options]

Run an environment's Compose stack (environments/<env>.yaml: compose files, env file) over the
real \`docker compose\`, as project <app>-<env> (app.name in pier.yaml). up and down refuse to
act on a project holding another app's containers (exit 2, naming them).

  up      validate the env file against requiredEnv (exit 2 naming the variable, before anything
          starts), build the app's production image if the stack selects one that is absent,
          start, and wait until every service is healthy; on failure name the service and print
          its last log lines (exit 3)
  down    stop and remove containers and networks; named volumes too only with --volumes
  status  table of service, state, health, published ports
  logs    service logs (all services, or the ones named after <env>)

Options:
  --env-file FILE   env file instead of the environment's envFile
  --project NAME    compose project name (default <app>-<env>)
  --profile NAME    enable a compose profile (repeatable), e.g. grafana
  --build           up: rebuild images that have a build section
  --timeout SEC     up: seconds to wait for healthy (default 180)
  --volumes, -v     down: also remove named volumes (data)
  --tail N          logs: last N lines of each service (default 100)
  --follow, -f      logs: keep streaming
  --json            up/status: print JSON
  --config FILE     pier.yaml to use`;

const options = {
  ...commonOptions,
  'env-file': { type: 'string' },
  project: { type: 'string', short: 'p' },
  profile: { type: 'string', multiple: true },
  build: { type: 'boolean' },
  timeout: { type: 'string' },
  volumes: { type: 'boolean', short: 'v' },
  tail: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
} as const;

const ACTIONS = ['up', 'down', 'status', 'logs'] as const;
type Action = (typeof ACTIONS)[number];

function positiveInt(flag: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--${flag}: expected a positive integer, got "${raw}"`);
  return Number(raw);
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, options);
  if (values.help) return console.log(help), 0;
  const [action, envName, ...services] = positionals;
  if (!action || !(ACTIONS as readonly string[]).includes(action)) throw new UsageError(`expected an action: ${ACTIONS.join(', ')}${action ? ` (got "${action}")` : ''}`, 'pier env --help');
  if (!envName) throw new UsageError(`pier env ${action}: expected an environment name, e.g. pier env ${action} staging`);
  if (services.length && action !== 'logs') throw new UsageError(`pier env ${action}: unexpected arguments: ${services.join(' ')}`);

  const timeoutMs = positiveInt('timeout', values.timeout, 180) * 1000;
  const tail = positiveInt('tail', values.tail, 100);
  const cfg = loadConfig({ configFile: values.config, env: envName });
  const env = resolveEnvStack(cfg, { project: values.project, envFile: values['env-file'], profiles: values.profile, validate: action === 'up' });
  const stack = new ComposeStack(env.target, { cwd: cfg.root });
  const progress = (line: string) => console.error(`  ${line}`);
  // compose acts on every container of the project name; make sure they are this app's.
  const own = { app: cfg.app.name, workingDir: dirname(env.target.files[0]!) };
  if (action === 'up' || action === 'down') await assertOwnProject(exec, env.target.project, own, action);

  switch (action as Action) {
    case 'up': {
      const report: EnvUpReport = { runId: newRunId(), command: 'env up', env: env.name, project: env.target.project, status: 'failed', exitCode: 3, startedAt: new Date().toISOString(), built: [], services: [] };
      try {
        await stack.check();
        report.built = await ensureAppImages(cfg, env.target, { onProgress: progress });
        const result = await stack.up({ build: values.build, timeoutMs, onProgress: progress });
        Object.assign(report, { status: 'healthy', exitCode: 0, seconds: result.seconds, services: result.services });
      } catch (err) {
        report.exitCode = err instanceof PierError ? err.exitCode : 3;
        report.error = (err as Error).message;
        report.services = await stack.status().catch(() => []);
        console.error(`  report: ${writeEnvReport(cfg.root, report)}`);
        throw err;
      }
      const path = writeEnvReport(cfg.root, report);
      if (values.json) printJson(report);
      else {
        console.log(formatTable(report.services));
        console.error(`✓ ${env.name} (${env.target.project}): ${report.services.length} services healthy in ${report.seconds!.toFixed(1)} s\n  report: ${path}`);
      }
      return 0;
    }
    case 'down':
      await stack.down({ volumes: values.volumes, onProgress: progress });
      console.error(`✓ ${env.name} (${env.target.project}) down${values.volumes ? ', volumes removed' : '; volumes kept (--volumes removes them)'}`);
      return 0;
    case 'status': {
      const states = await stack.status();
      if (values.json) printJson({ env: env.name, project: env.target.project, services: states });
      else if (!states.length) console.error(`${env.name} (${env.target.project}): not running`);
      else console.log(formatTable(states));
      return 0;
    }
    case 'logs': {
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      try {
        const code = await stack.logs({ services, tail, follow: values.follow, write: (t) => process.stdout.write(t), signal: ac.signal }).catch((err: Error) => {
          if (ac.signal.aborted) return 0;
          throw err;
        });
        return code === 0 || ac.signal.aborted ? 0 : 3;
      } finally {
        process.off('SIGINT', stop);
      }
    }
  }
}
