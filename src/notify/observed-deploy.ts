/**
 * A deploy told to the environment's webhooks and drawn, for every caller (`pier deploy` and the
 * release flow's staging and production deploys): deploy.started / rollback.* / deploy.succeeded|
 * failed go out, then the optional `after` steps (smoke, guard) run and their events go out, and
 * the deploy's picture (deploy.html or `pictureName`) is written beside the run's report while they
 * run. Never fails because of a receiver or the picture.
 */
import { deploy, type DeployOptions, type DeployReport } from '../deploy/deploy.ts';
import { Progress } from '../deploy/progress.ts';
import type { DeployTarget } from '../deploy/target.ts';
import type { ReleaseStep } from '../release/report.ts';
import { writeDeployTimeline } from '../report/write-timeline.ts';
import { afterStepsEmissions, deployEndEmissions, watchDeploy } from './lifecycle.ts';
import { notifierFor, type Delivery } from './notifier.ts';

export interface ObservedDeployOptions extends DeployOptions {
  runId: string;
  /** The picture's file name in the run directory (default deploy.html). */
  pictureName?: string;
  /** Steps after the deploy (smoke, guard), given its report; their events follow the deploy's. */
  after?: (report: DeployReport) => Promise<ReleaseStep[]>;
  /** Told the undelivered notifications when the deploy throws (nothing is returned then). */
  onFailedWarnings?: (warnings: string[]) => void;
}

export interface ObservedDeploy {
  report: DeployReport;
  /** What `after` returned ([] without it). */
  after: ReleaseStep[];
  /** The picture's path, or why it was not written. */
  picture: string;
  /** Every receiver's delivery, and how long the command waited for them at the end. */
  deliveries: Delivery[];
  waitedMs: number;
  /** Notifications that did not reach their receiver. */
  warnings: string[];
}

export async function observedDeploy(target: DeployTarget, opts: ObservedDeployOptions): Promise<ObservedDeploy> {
  const { runId, pictureName, after: afterSteps, onFailedWarnings, ...deployOpts } = opts;
  const notifier = notifierFor(target, runId);
  const hosts = target.hosts.map((h) => h.name);
  const progress = opts.progress ?? new Progress();
  notifier.emit('deploy.started', { version: opts.envOnly ? undefined : opts.version, hosts, reason: opts.envOnly ? 'env only' : undefined });
  watchDeploy(notifier, progress, opts.version, hosts);
  // The pre-migration hook is the backup (every caller passes backupBeforeMigrate): when it fails,
  // backup.failed goes out at once, then the deploy fails as before (nothing migrated or switched).
  const { beforeMigrate } = deployOpts;
  if (beforeMigrate) {
    deployOpts.beforeMigrate = (c) => beforeMigrate(c).catch((e: Error) => {
      notifier.emit('backup.failed', { version: opts.version, hosts, reason: e.message });
      throw e;
    });
  }
  let report: DeployReport;
  try {
    report = await deploy(target, { ...deployOpts, runId, progress });
  } catch (err) {
    // Refused before anything changed (config, unreachable hosts, lock held): still a failed deploy.
    notifier.emit('deploy.failed', { version: opts.version, hosts, reason: (err as Error).message });
    await notifier.settle();
    onFailedWarnings?.(notifier.warnings());
    throw err;
  }
  // The deploy's end goes out now (smoke and guard may take minutes); the picture's traffic is read
  // from the hosts meanwhile.
  for (const [event, fields] of deployEndEmissions(report)) notifier.emit(event, fields);
  const picture = writeDeployTimeline(target, runId, report, progress.startedAt, pictureName).catch((e: Error) => `(not written: ${e.message})`);
  const after = afterSteps ? await afterSteps(report).catch(async (err: Error) => {
    await picture;
    await notifier.settle();
    throw err;
  }) : [];
  for (const [event, fields] of afterStepsEmissions(after, report.version, hosts)) notifier.emit(event, fields);
  // Receivers get what is left of their timeout once the picture is written (not both in a row).
  const pictureFile = await picture;
  const deliveries = await notifier.settle();
  return { report, after, picture: pictureFile, deliveries, waitedMs: notifier.waitedMs, warnings: notifier.warnings() };
}

/** The smoke and guard steps after a release's deploy, told to the environment's webhooks. */
export async function notifySteps(target: DeployTarget, runId: string, version: string, steps: readonly ReleaseStep[]): Promise<string[]> {
  const notifier = notifierFor(target, runId);
  for (const [event, fields] of afterStepsEmissions(steps, version, target.hosts.map((h) => h.name))) notifier.emit(event, fields);
  await notifier.settle();
  return notifier.warnings();
}
