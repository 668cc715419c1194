import { join } from 'node:path';
import { imageVersion } from '../pipeline/version.ts';
import type { DeployTarget } from '../deploy/target.ts';
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
import { observedDeploy } from '../notify/observed-deploy.ts';
import { abortOnSigint } from './release-common.ts';

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
  --no-require-passed deploy although deploy.requirePassed's environment (e.g. staging) has no
                      passing checks verdict for the version (said in the output and the report)
  --live              end maintenance mode once the deploy succeeded (without it, a deploy
                      during maintenance keeps every proxy answering 503 with the page)

deploy.requirePassed: ENV (e.g. staging in environments/production.yaml): before any host is
touched, the newest checks verdict ENV's hosts hold for the version must have passed (refused, exit
1, naming both environments and the digest, otherwise); the hosts then pull exactly that digest.

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
    'no-require-passed': { type: 'boolean' },
    live: { type: 'boolean' },
  });
  if (values.help) return console.log(help), 0;
  const lockWait = parseLockWait(values['lock-wait']);
  const target = targetFor(positionals[0], values.config, 'deploy');
  const envOnly = Boolean(values['env-only']);
  if (envOnly && (values.version || values.stream)) throw new UsageError('--env-only deploys the release the hosts serve: it takes no --version or --stream');
  const version = envOnly ? '(serving)' : values.version ?? (await publishedTag(target));
  if (!envOnly && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(version)) throw new UsageError(`--version: "${version}" is not a valid image tag`);
  const gate = envOnly ? undefined : await requiredPass(target, version, values.config, values['no-require-passed']);

  // First Ctrl-C: finish the current step, switch back switched hosts, release the lock.
  // Second: leave now (the lock is then reported by pier lock status).
  const interrupt = abortOnSigint(
    'interrupt: finishing the current step, then switching back any switched host and releasing the lock (Ctrl-C again to leave now)',
    `leaving now: hosts may still be locked; check with pier lock status ${target.envName}`,
  );
  const runId = newRunId();
  console.error(`deploy ${target.app} ${envOnly ? 'env only' : version} to ${target.envName} (${target.hosts.length} hosts, run ${runId})`);
  const hookLog: HookLog = { results: [], warnings: [] };
  const points = deployHookPoints(target, runId, hookLog);
  let liveError: string | undefined;
  try {
    const { report, after, picture: pictureFile, deliveries, waitedMs, warnings } = await observedDeploy(target, {
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
      version, digest: gate?.digest, envOnly, stream: values.stream, lockWaitSeconds: lockWait, signal: interrupt.signal, runId, progress: new Progress(),
      // Data safety: a verified backup before migrating (backup.beforeMigrate); loaded only when used.
      beforeMigrate: async (c) => (await import('../db/deploy-hook.ts')).backupBeforeMigrate(c.target, c.serving, c.progress, c.sessions),
      // Smoke and guard after a deploy that went through (each may roll the fleet back).
      after: async (r) => r.ok && r.hosts.some((h) => h.status === 'deployed') && (target.config?.env?.smoke.length || target.settings.guard)
        ? (await import('../release/release.ts')).afterDeploy(target, { noGuard: values['no-guard'], signal: interrupt.signal, runId })
        : [],
      onFailedWarnings: (ws) => ws.forEach((w) => console.error(`! ${w}`)),
    });
    const failedAfter = after.find((s) => s.status === 'failed' || s.status === 'paused');
    const full = {
      ...report,
      ...(after.length ? { after, ok: report.ok && !failedAfter, exitCode: failedAfter ? 1 : report.exitCode } : {}),
      ...(gate ? { requirePassed: gate } : {}),
      ...(hookLog.results.length ? { hooks: hookLog.results } : {}),
      ...(deliveries.length ? { notifications: deliveries, notificationsWaitSeconds: waitedMs / 1000 } : {}),
    };
    const path = writeReport(target, runId, full);
    if (values.json) printJson(full);
    else {
      console.error(`\ntimeline:\n${renderTimeline(report.timeline)}`);
      for (const h of report.hosts) console.error(`  ${h.host.padEnd(10)} ${h.status.padEnd(14)} serving ${h.serving ?? '?'}${h.detail ? `  (${h.detail})` : ''}`);
      for (const r of report.roles ?? []) console.error(`  ${`${r.host}/${r.role}`.padEnd(10)} ${r.status.padEnd(14)} running ${r.serving ?? '-'}${r.detail ? `  (${r.detail})` : ''}`);
      for (const p of report.images ?? []) if (p.error) console.error(`! ${p.host}: unused images not removed (the deploy stands): ${p.error}; pier prune ${target.envName} retries`);
      if (report.logs) console.error(`\nlast log lines of the failed container:\n${redact(report.logs).replace(/^/gm, '  | ')}`);
      console.error(report.ok ? `✓ ${report.version}${envOnly ? " (env only)" : ""} deployed in ${report.seconds.toFixed(1)}s` : `✗ deploy of ${report.version} failed: ${report.error}`);
    }
    if (after.length) console.error((await import('../release/report.ts')).renderSummary({ run: runId, command: `after deploy ${target.envName}`, ok: full.ok, exitCode: full.exitCode, seconds: 0, steps: after }).split('\n').slice(1).join('\n'));
    for (const w of hookLog.warnings) console.error(`! ${w}`);
    if (liveError) console.error(`! --live: maintenance could not be turned off: ${liveError} (pier maintenance off ${target.envName})`);
    for (const w of warnings) console.error(`! ${w}`);
    if (report.lock.held.length) console.error(`! lock NOT released on ${report.lock.held.map((h) => h.host).join(', ')}: once reachable, run pier lock release ${target.envName}`);
    console.error(`report: ${path}\ntimeline picture: ${pictureFile}`);
    return full.exitCode;
  } finally {
    interrupt.off();
  }
}

/**
 * deploy.requirePassed: the named environment's passing checks verdict for `version` (read from
 * its hosts before any host of `target` is touched; refused with exit 1 otherwise) and the digest
 * that passed, which the deploy then pulls. `--no-require-passed` skips it, loudly.
 */
async function requiredPass(target: DeployTarget, version: string, configFile: string | undefined, override: boolean | undefined): Promise<{ env: string; digest?: string; verdict?: { at: string; run: string; by: string }; overridden?: true } | undefined> {
  const required = target.settings.requirePassed;
  if (!required) return undefined;
  if (override) {
    console.error(`! deploy.requirePassed: ${required} NOT consulted (--no-require-passed): ${version} may not have passed ${required}'s checks`);
    return { env: required, overridden: true };
  }
  const v = await (await import('../release/require-passed.ts')).requirePassed(target, targetFor(required, configFile, 'deploy'), { version });
  console.error(`${version} (${v.digest}) passed ${required}'s checks (${v.at}, run ${v.run}): ${target.envName} pulls that digest`);
  return { env: required, digest: v.digest, verdict: { at: v.at, run: v.run, by: v.by } };
}

/** The tag the pipeline's build/publish gives the current tree, so deploy follows publish by default. */
async function publishedTag(target: DeployTarget): Promise<string> {
  const context = join(target.root, target.config?.app.context ?? '.');
  return (await imageVersion(context, target.config?.app.version)).tag;
}
