/**
 * A deploy as the release flow runs it (staging, then production), told the way `pier deploy`
 * tells it: the environment's webhooks get deploy.started / rollback.* / deploy.succeeded|failed,
 * and deploy-<env>.html is written beside the run's report. Never fails because of either.
 */
import { deploy, type DeployOptions, type DeployReport } from '../deploy/deploy.ts';
import { Progress } from '../deploy/progress.ts';
import type { DeployTarget } from '../deploy/target.ts';
import type { ReleaseStep } from '../release/report.ts';
import { writeDeployTimeline } from '../report/write-timeline.ts';
import { afterStepsEmissions, deployEndEmissions, watchDeploy } from './lifecycle.ts';
import { notifierFor } from './notifier.ts';

export interface ObservedDeploy {
  report: DeployReport;
  /** deploy-<env>.html, or why it was not written. */
  picture: string;
  /** Notifications that did not reach their receiver. */
  warnings: string[];
}

export async function observedDeploy(target: DeployTarget, opts: DeployOptions & { runId: string }): Promise<ObservedDeploy> {
  const notifier = notifierFor(target, opts.runId);
  const hosts = target.hosts.map((h) => h.name);
  const progress = opts.progress ?? new Progress();
  notifier.emit('deploy.started', { version: opts.version, hosts });
  watchDeploy(notifier, progress, opts.version, hosts);
  try {
    const report = await deploy(target, { ...opts, progress });
    for (const [event, fields] of deployEndEmissions(report)) notifier.emit(event, fields);
    const picture = await writeDeployTimeline(target, opts.runId, report, progress.startedAt, `deploy-${target.envName}.html`).catch((e: Error) => `(not written: ${e.message})`);
    await notifier.settle();
    return { report, picture, warnings: notifier.warnings() };
  } catch (err) {
    notifier.emit('deploy.failed', { version: opts.version, hosts, reason: (err as Error).message });
    await notifier.settle();
    throw err;
  }
}

/** The smoke and guard steps after a release's deploy, told to the environment's webhooks. */
export async function notifySteps(target: DeployTarget, runId: string, version: string, steps: readonly ReleaseStep[]): Promise<string[]> {
  const notifier = notifierFor(target, runId);
  for (const [event, fields] of afterStepsEmissions(steps, version, target.hosts.map((h) => h.name))) notifier.emit(event, fields);
  await notifier.settle();
  return notifier.warnings();
}
