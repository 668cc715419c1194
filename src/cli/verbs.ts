/**
 * The command table. One file per verb under src/cli/ (each exports `run(argv)` and `help`), except
 * the single-stage verbs, which come from the stage registry through src/cli/stage.ts.
 * Only verbs that exist are listed: nothing here is a stub. Modules load on demand, so a command
 * pays only for its own dependencies (ssh2 for deploy, the Dagger SDK for --engine dagger, ...).
 */
import { STAGES } from '../pipeline/stages/index.ts';

type VerbModule = { run(argv: string[]): Promise<number> };

export interface Verb {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const lazy = (summary: string, load: () => Promise<VerbModule>): Verb => ({ summary, run: async (argv) => (await load()).run(argv) });

export const verbs: Record<string, Verb> = {
  ci: lazy('run the pipeline: build, test, scan, loadtest, publish; stop at the first failed gate', () => import('./ci.ts')),
  // One verb per pipeline stage, from the stage registry (src/pipeline/stages/index.ts).
  ...Object.fromEntries(STAGES.map((s): [string, Verb] => [s.name, { summary: s.summary, run: async (argv) => (await import('./stage.ts')).runStage(s.name, argv) }])),
  init: lazy('look at this repository and write pier.yaml, environments/*, a compose file and ignore entries (never overwrites)', () => import('./init.ts')),
  env: lazy("run an environment's Compose stack: up (wait healthy), down, status, logs", () => import('./env.ts')),
  deploy: lazy('health-gated deploy over SSH (deploy.strategy: rolling, blue-green, canary) with fleet-wide automatic rollback', () => import('./deploy.ts')),
  checks: lazy("run an environment's checks: (or --smoke) against what it serves; the verdict is recorded by image digest", () => import('./checks.ts')),
  guard: lazy('post-deploy analysis now (deploy.guard metrics, default the seeds\' rules): a failed metric rolls every host back', () => import('./guard.ts')),
  promote: lazy('deploy to <to-env> exactly the digest <from-env> serves and passed its checks; then smoke and guard', () => import('./promote.ts')),
  release: lazy('the whole flow: ci -> staging -> staging checks -> the same digest to production -> smoke -> guard', () => import('./release.ts')),
  rollback: lazy('switch every host back to a retained release (no pull)', () => import('./rollback.ts')),
  status: lazy('per host: release serving, health, proxy target, retained releases, lock', () => import('./status.ts')),
  releases: lazy('release history per host (who, when)', () => import('./releases.ts')),
  stats: lazy('DORA figures from the hosts\' records: deploy frequency, lead time, change failure rate, time to restore', () => import('./stats.ts')),
  lock: lazy('deploy lock: status | release', () => import('./lock.ts')),
  prune: lazy('free disk on every host: stopped releases beyond keepReleases and unused app images (--dry-run lists them and their sizes)', () => import('./prune.ts')),
  maintenance: lazy("maintenance mode: on | off (every host's proxy answers 503 with a page, health and ACME exempt)", () => import('./maintenance.ts')),
  certs: lazy('HTTPS certificates (proxy.tls): status | renew <env> (ACME HTTP-01 through every host, or your files)', () => import('./certs.ts')),
  accessory: lazy('services beside the app on named hosts (PostgreSQL, Redis...): boot | reboot | stop | logs | status <env> [name]', () => import('./accessory.ts')),
  monitoring: lazy('production monitoring: up | status | down <env> (Prometheus with the alert rules, a node exporter on every host)', () => import('./monitoring.ts')),
  db: lazy('database backups: backup <env> | restore <env> <file> | verify <file> | list <env> | drill <env>', () => import('./db.ts')),
  secrets: lazy('encrypted env files (dotenvx): set | get | edit | list | rotate-key <env>', () => import('./secrets.ts')),
  config: lazy('validate and print the resolved configuration (secrets redacted)', () => import('./config.ts')),
  setup: lazy('make this machine ready: Docker engine, compose v2, buildx, image stand-ins (recorded for every repo)', () => import('./setup.ts')),
  'dev-hosts': lazy('a simulated production fleet on this machine (Docker-in-Docker hosts with sshd): up | down', () => import('./dev-hosts.ts')),
  reap: lazy('remove containers, networks and volumes left by crashed pier runs', () => import('./reap.ts')),
};
