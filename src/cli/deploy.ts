import { join } from 'node:path';
import { imageVersion } from '../pipeline/version.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { deploy } from '../deploy/deploy.ts';
import { renderTimeline } from '../deploy/progress.ts';
import { redact } from '../util/redact.ts';
import { newRunId } from '../util/run-id.ts';
import { commonOptions, parse } from './args.ts';
import { targetFor, writeReport } from './deploy-common.ts';
import { parseLockWait } from '../deploy/lock.ts';
import { UsageError } from '../util/errors.ts';
import { printJson } from './output.ts';
import { deployHookPoints, type HookLog } from '../hooks/points.ts';
import { Progress } from '../deploy/progress.ts';
import { notifierFor } from '../notify/notifier.ts';
import { afterStepsEmissions, deployEndEmissions, watchDeploy } from '../notify/lifecycle.ts';
import { writeDeployTimeline } from '../report/write-timeline.ts';

export const help = `Usage: pier deploy <env> [--version V | --env-only] [--stream] [--lock-wait SECONDS] [--no-guard] [--live] [--config FILE] [--json]

Health-gated deploy (deploy.strategy: rolling, blue-green or canary) of the app image to every host of environments/<env>.yaml over SSH.
The first host is a barrier; after each switch an error-rate bake window runs on nginx's access
log. Any failure (health check, smoke test, error rate, lost host, Ctrl-C) switches every
already-switched host back to its previous release.

  --version V         image tag to deploy (default: the tag \`pier publish\` gives this tree,
                      <app semver>-<short sha>, e.g. 1.0.0-abc1234)
  --env-only          roll the current env file (and manager secrets) out on the release every
                      host serves: same health-gated rollout, no new image (after pier secrets set)
  --stream            send the image over SSH (docker save | docker load) instead of pulling
  --lock-wait S       wait up to S seconds for another deploy's lock
  --no-guard          skip the post-deploy guard (deploy.guard)
  --live              end maintenance mode once the deploy succeeded (without it, a deploy
                      during maintenance keeps every proxy answering 503 with the page)

Hooks (hooks: in pier.yaml / environments/<env>.yaml): preDeploy runs under the lock once every
host has the image and before anything starts; a failure aborts with nothing changed. postDeploy
runs with PIER_OUTCOME before the lock is released.

After a successful deploy: the environment's smoke: commands (a failure rolls every host back), then
the guard when deploy.guard is set: its metrics for its window; a failed metric rolls every host back.

Exit: 0 deployed; 1 rolled back / refused by a gate; 2 bad usage or config; 3 hosts unreachable,
host key refused, lock held.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...commonOptions,
    version: { type: 'string' },
    stream: { type: 'boolean' },
    'env-only': { type: 'boolean' },
    'lock-wait': { type: 'string' },
    'no-guard': { type: 'boolean' },
    live: { type: 'boolean' },
  });
  if (values.help) return console.log(help), 0;
  const lockWait = parseLockWait(values['lock-wait']);
  const target = targetFor(positionals[0], values.config, 'deploy');
  const envOnly = Boolean(values['env-only']);
  if (envOnly && (values.version || values.stream)) throw new UsageError('--env-only deploys the release the hosts serve: it takes no --version or --stream');
  const version = envOnly ? '(serving)' : values.version ?? (await publishedTag(target));
  if (!envOnly && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version)) throw new UsageError(`--version: "${version}" is not a valid image tag`);

  // First Ctrl-C: finish the current step, switch back switched hosts, release the lock.
  // Second: leave now (the lock is then reported by pier lock status).
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts === 1) {
      console.error('\ninterrupt: finishing the current step, then switching back any switched host and releasing the lock (Ctrl-C again to leave now)');
      ac.abort();
    } else {
      console.error(`\nleaving now: hosts may still be locked; check with pier lock status ${target.envName}`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  const runId = newRunId();
  console.error(`deploy ${target.app} ${envOnly ? 'env only' : version} to ${target.envName} (${target.hosts.length} hosts, run ${runId})`);
  const hookLog: HookLog = { results: [], warnings: [] };
  const points = deployHookPoints(target, runId, hookLog);
  let liveError: string | undefined;
  const hostNames = target.hosts.map((h) => h.name);
  const notifier = notifierFor(target, runId);
  const progress = new Progress();
  notifier.emit('deploy.started', { version: envOnly ? undefined : version, hosts: hostNames, reason: envOnly ? 'env only' : undefined });
  watchDeploy(notifier, progress, version, hostNames);
  try {
    const report = await deploy(target, {
      // preDeploy (aborts before any host changes) and postDeploy (under the lock), src/hooks/.
      ...points,
      // --live: maintenance off once the deploy went through, still under the lock, before postDeploy.
      beforeUnlock: values.live || points.beforeUnlock
        ? async (r) => {
            if (values.live && r.ok) {
              const m = await (await import('../deploy/maintenance.ts')).setMaintenance(target, false).catch((e: Error) => ({ ok: false, hosts: [{ host: 'fleet', detail: e.message }] }));
              if (!m.ok) liveError = m.hosts.filter((h) => 'ok' in h ? !h.ok : true).map((h) => `${h.host}: ${h.detail ?? 'failed'}`).join('; ');
            }
            await points.beforeUnlock?.(r);
          }
        : undefined,
      version, envOnly, stream: values.stream, lockWaitSeconds: lockWait, signal: ac.signal, runId, progress,
      // Data safety: a verified backup before migrating (backup.beforeMigrate); loaded only when used.
      beforeMigrate: async (c) => (await import('../db/deploy-hook.ts')).backupBeforeMigrate(c.target, c.serving, c.progress, c.sessions),
    }).catch(async (err: Error) => {
      // Refused before anything changed (config, unreachable hosts, lock held): still a failed deploy.
      notifier.emit('deploy.failed', { version, hosts: hostNames, reason: err.message });
      await notifier.settle();
      for (const w of notifier.warnings()) console.error(`! ${w}`);
      throw err;
    });
    // The deploy's end goes out now (smoke and guard may take minutes); the picture's traffic is
    // read from the hosts meanwhile.
    for (const [event, fields] of deployEndEmissions(report)) notifier.emit(event, fields);
    const picture = writeDeployTimeline(target, runId, report, progress.startedAt).catch((e: Error) => `(not written: ${e.message})`);
    // Smoke and guard after a deploy that went through (each may roll the fleet back).
    const after = report.ok && report.hosts.some((h) => h.status === 'deployed') && (target.config?.env?.smoke.length || target.settings.guard)
      ? await (await import('../release/release.ts')).afterDeploy(target, { noGuard: values['no-guard'], signal: ac.signal, runId })
      : [];
    const failedAfter = after.find((s) => s.status === 'failed' || s.status === 'paused');
    for (const [event, fields] of afterStepsEmissions(after, report.version, hostNames)) notifier.emit(event, fields);
    // Receivers get what is left of their timeout once the picture is written (not both in a row).
    const pictureFile = await picture;
    const deliveries = await notifier.settle();
    const full = {
      ...report,
      ...(after.length ? { after, ok: report.ok && !failedAfter, exitCode: failedAfter ? 1 : report.exitCode } : {}),
      ...(hookLog.results.length ? { hooks: hookLog.results } : {}),
      ...(deliveries.length ? { notifications: deliveries, notificationsWaitSeconds: notifier.waitedMs / 1000 } : {}),
    };
    const path = writeReport(target, runId, full);
    if (values.json) printJson(full);
    else {
      console.error(`\ntimeline:\n${renderTimeline(report.timeline)}`);
      for (const h of report.hosts) console.error(`  ${h.host.padEnd(10)} ${h.status.padEnd(14)} serving ${h.serving ?? '?'}${h.detail ? `  (${h.detail})` : ''}`);
      for (const r of report.roles ?? []) console.error(`  ${`${r.host}/${r.role}`.padEnd(10)} ${r.status.padEnd(14)} running ${r.serving ?? '-'}${r.detail ? `  (${r.detail})` : ''}`);
      if (report.logs) console.error(`\nlast log lines of the failed container:\n${redact(report.logs).replace(/^/gm, '  | ')}`);
      console.error(report.ok ? `✓ ${report.version}${envOnly ? " (env only)" : ""} deployed in ${report.seconds.toFixed(1)}s` : `✗ deploy of ${report.version} failed: ${report.error}`);
    }
    if (after.length) console.error((await import('../release/report.ts')).renderSummary({ run: runId, command: `after deploy ${target.envName}`, ok: full.ok, exitCode: full.exitCode, seconds: 0, steps: after }).split('\n').slice(1).join('\n'));
    for (const w of hookLog.warnings) console.error(`! ${w}`);
    if (liveError) console.error(`! --live: maintenance could not be turned off: ${liveError} (pier maintenance off ${target.envName})`);
    for (const w of notifier.warnings()) console.error(`! ${w}`);
    if (report.lock.held.length) console.error(`! lock NOT released on ${report.lock.held.map((h) => h.host).join(', ')}: once reachable, run pier lock release ${target.envName}`);
    console.error(`report: ${path}\ntimeline picture: ${pictureFile}`);
    return full.exitCode;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The tag the pipeline's build/publish gives the current tree, so deploy follows publish by default. */
async function publishedTag(target: DeployTarget): Promise<string> {
  const context = join(target.root, target.config?.app.context ?? '.');
  return (await imageVersion(context, target.config?.app.version)).tag;
}
