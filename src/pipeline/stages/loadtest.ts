/** Load-test stage: serve the image with its sidecars, wait healthy, warm up, load, gate on SLOs. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppFailedError, type AppExit } from '../../engine/types.ts';
import { notYet, poll } from '../../util/poll.ts';
import type { StageContext, StageOutcome } from '../context.ts';
import { loadtestHtml } from '../html.ts';
import { httpGet } from '../../util/http.ts';
import { loadStats, runLoad, sloMisses } from '../load.ts';
import { sidecars } from './test.ts';
import { formatStreams } from '../../engine/streams.ts';

/**
 * Poll `url` until it answers 2xx, bounded by `timeoutMs`; stops at the next attempt once `exited`
 * settles (the app's process died: no point waiting out the timeout). Failures are the app's: gate.
 */
export async function waitHealthy(url: string, timeoutMs: number, signal?: AbortSignal, exited?: Promise<AppExit>): Promise<void> {
  let exit: AppExit | undefined;
  void exited?.then((e) => (exit = e));
  const crashed = (e: AppExit) => new AppFailedError(`the app exited with code ${e.exitCode} before ${url} answered\n${formatStreams(e)}`, true);
  await poll(url, async () => {
    if (exit) throw crashed(exit);
    const r = await httpGet(url, 2000);
    return r.status >= 200 && r.status < 300 ? true : notYet(`HTTP ${r.status}`);
  }, {
    timeoutMs,
    intervalMs: 250,
    signal,
    retry: (err) => !(err instanceof AppFailedError),
    onGiveUp: (e) => (exit ? crashed(exit) : new AppFailedError(`${url} did not become healthy within ${timeoutMs / 1000} s (${e.last ?? ''})`)),
  });
}

export async function loadtestStage(ctx: StageContext): Promise<StageOutcome> {
  const { app, pipeline } = ctx.config;
  const lt = pipeline.loadtest;
  const image = ctx.state.runtime;
  if (!image) throw new Error('loadtest stage needs the runtime image: build first');
  ctx.progress.live('starting app and sidecars');
  let served;
  try {
    served = await ctx.engine.serve({
      image,
      port: app.port,
      env: { ...app.env, PORT: String(app.port), APP_VERSION: ctx.state.version ?? 'dev', ...ctx.options.serveEnv },
      sidecars: sidecars(app),
      ...(app.migrate ? { init: app.migrate.command } : {}),
    });
  } catch (err) {
    // The migration (init) command failed: the app's fault, a gate; sidecar trouble stays exit 3.
    if (err instanceof AppFailedError) return { status: 'failed', reason: err.message, figures: {} };
    throw err;
  }
  try {
    ctx.progress.live(`waiting for ${app.health.path}`);
    try {
      await waitHealthy(served.url + app.health.path, app.health.timeoutSeconds * 1000, ctx.signal, served.exited);
    } catch (err) {
      if (!(err instanceof AppFailedError)) throw err;
      // A crash already carries both streams; a live app that never got healthy: read them now.
      const reason = err.logsIncluded ? err.message : `${err.message}\n${await served.logs()}`;
      return { status: 'failed', reason, figures: {} };
    }
    const profile = { url: served.url + lt.path, method: lt.method, body: lt.body, connections: lt.connections, rate: lt.rate };
    if (lt.warmupSeconds > 0) {
      ctx.progress.live(`warming up ${lt.warmupSeconds}s`);
      await runLoad({ ...profile, durationSeconds: lt.warmupSeconds }, undefined, ctx.signal);
    }
    const total = lt.amount ? `${lt.amount} requests` : `${lt.durationSeconds ?? 10}s`;
    const res = await runLoad({ ...profile, durationSeconds: lt.durationSeconds, amount: lt.amount }, (rps, s) => ctx.progress.live(`${rps} req/s (${s}s of ${total})`), ctx.signal);
    const stats = loadStats(res);
    const misses = sloMisses(stats, lt.slo);
    const html = join(ctx.runDir, 'loadtest.html');
    writeFileSync(html, loadtestHtml({ app: app.name, image: image.ref, runId: ctx.runId, target: `${lt.method} ${lt.path}`, stats, rpsSeries: res.rpsSeries, slo: lt.slo, misses }));
    ctx.files.loadtestHtml = html;
    const figures = {
      p50Ms: stats.p50Ms,
      p95Ms: stats.p95Ms,
      p99Ms: stats.p99Ms,
      maxMs: stats.maxMs,
      rps: stats.rps,
      requests: stats.requests,
      errors: stats.errors,
      non2xx: stats.non2xx,
      errorRate: stats.errorRate,
      rpsSeries: res.rpsSeries,
      slo: lt.slo,
      html,
    };
    if (misses.length) return { status: 'failed', reason: `SLO missed: ${misses.join('; ')}`, figures };
    return { status: 'passed', figures };
  } finally {
    await served.stop();
  }
}
