/**
 * The command table. One file per verb under src/cli/; each exports `run(argv)` and `help`.
 * Only verbs that exist are listed: nothing here is a stub.
 */
import * as config from './config.ts';
import * as env from './env.ts';
import * as reap from './reap.ts';
import * as deploy from './deploy.ts';
import * as rollback from './rollback.ts';
import * as status from './status.ts';
import * as releases from './releases.ts';
import * as lock from './lock.ts';
import * as db from './db.ts';
import * as ci from './ci.ts';
import * as build from './build.ts';
import * as test from './test.ts';
import * as scan from './scan.ts';
import * as loadtest from './loadtest.ts';
import * as publish from './publish.ts';

export interface Verb {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const withHelp = (summary: string, m: { run(argv: string[]): Promise<number> }): Verb => ({ summary, run: m.run });

export const verbs: Record<string, Verb> = {
  ci: withHelp(ci.summary, ci),
  build: withHelp(build.summary, build),
  test: withHelp(test.summary, test),
  scan: withHelp(scan.summary, scan),
  loadtest: withHelp(loadtest.summary, loadtest),
  publish: withHelp(publish.summary, publish),
  env: withHelp('run an environment\'s Compose stack: up (wait healthy), down, status, logs', env),
  deploy: withHelp('health-gated deploy over SSH (deploy.strategy: rolling, blue-green, canary) with fleet-wide automatic rollback', deploy),
  rollback: withHelp('switch every host back to a retained release (no pull)', rollback),
  status: withHelp('per host: release serving, health, proxy target, retained releases, lock', status),
  releases: withHelp('release history per host (who, when)', releases),
  lock: withHelp('deploy lock: status | release', lock),
  db: withHelp(db.summary, db),
  config: withHelp('validate and print the resolved configuration (secrets redacted)', config),
  reap: withHelp('remove containers, networks and volumes left by crashed pier runs', reap),
};
