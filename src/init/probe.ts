/**
 * Confirm the health path on the real image when a Docker engine is there: build the runtime
 * target, run it on a random 127.0.0.1 port, GET each candidate path, keep the first that answers
 * 2xx. Bounded (build and answer deadlines, per-request timeouts); everything it creates carries
 * `pier.run` and is removed before it returns, also on failure.
 */
import { existsSync } from 'node:fs';
import { httpGet } from '../util/http.ts';
import { exec, type ExecResult } from '../util/exec.ts';
import { PollError, poll } from '../util/poll.ts';
import { newRunId, runLabels } from '../util/run-id.ts';
import type { Detection } from './detect.ts';

export interface ProbeSpec {
  root: string;
  dockerfile: string;
  target?: string;
  buildArgs: Record<string, string>;
  port: number;
  env: Record<string, string>;
  candidates: string[];
  caFile?: string;
}

export interface ProbeResult {
  status: 'found' | 'none' | 'failed' | 'skipped';
  path?: string;
  /** Each candidate's answer in the last pass (status, or the error). */
  answers: { path: string; status?: number; error?: string }[];
  reason?: string;
  seconds: number;
}

const labelArgs = (l: Record<string, string>) => Object.entries(l).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

/** The probe's build, as the pipeline builds the runtime image (pure). */
export function probeBuildArgv(s: ProbeSpec, tag: string, labels: Record<string, string>): string[] {
  return [
    'docker', 'buildx', 'build', '--load', '--quiet',
    ...(s.caFile ? ['--secret', `id=ca,src=${s.caFile}`] : []),
    ...Object.entries(s.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...(s.target ? ['--target', s.target] : []),
    ...labelArgs(labels),
    '-f', s.dockerfile, '-t', tag, s.root,
  ];
}

/** The probe's container: the image's own command, PORT and app.env set, published on 127.0.0.1 only (pure). */
export function probeRunArgv(s: ProbeSpec, image: string, name: string, labels: Record<string, string>): string[] {
  return [
    'docker', 'run', '--detach', '--name', name, ...labelArgs(labels),
    '--publish', `127.0.0.1::${s.port}`,
    ...Object.entries({ PORT: String(s.port), ...s.env }).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    image,
  ];
}

/** First candidate (in the given order) that answered 2xx (pure). */
export function choosePath(candidates: string[], answers: ProbeResult['answers']): string | undefined {
  return candidates.find((c) => answers.some((a) => a.path === c && a.status !== undefined && a.status >= 200 && a.status < 300));
}

/**
 * What one round of answers says (pure): the chosen path, 'none' once every candidate got an
 * answer and none was 2xx, or undefined: ask again. Docker's port proxy accepts (then resets)
 * connections before the app listens, so the first paths asked can fail while later ones already
 * get a 404: that round says nothing about the failed paths.
 */
export function judgeAnswers(candidates: string[], answers: ProbeResult['answers']): string | 'none' | undefined {
  const path = choosePath(candidates, answers);
  if (path) return path;
  return answers.length > 0 && answers.every((a) => a.status !== undefined) ? 'none' : undefined;
}

export function probeSpec(root: string, d: Detection, buildArgs: Record<string, string>): ProbeSpec {
  const ca = process.env.PIER_CA_FILE ?? '/etc/ssl/certs/ca-certificates.crt';
  return {
    root,
    dockerfile: `${root}/${d.dockerfile ?? 'Dockerfile'}`,
    target: d.targets.runtime?.value,
    buildArgs,
    port: d.port.value,
    env: Object.fromEntries(Object.entries(d.appEnv).filter(([, v]) => !/\$\{/.test(v))),
    candidates: d.health.candidates,
    caFile: existsSync(ca) ? ca : undefined,
  };
}

export interface ProbeOptions {
  buildTimeoutMs?: number;
  /** How long the app may take to answer its first request. */
  answerTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

export async function probeHealth(s: ProbeSpec, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  const info = await exec(['docker', 'info', '--format', '{{.ServerVersion}}'], { nothrow: true, timeoutMs: 10_000 }).catch(() => undefined);
  if (!info || info.code !== 0) return { status: 'skipped', answers: [], reason: 'no Docker engine answers (pier setup installs one)', seconds: seconds() };

  const runId = newRunId();
  const labels = runLabels(runId, { 'pier.step': 'init-probe' });
  const tag = `pier-init-probe:${runId}`;
  const name = `pier-init-probe-${runId}`;
  const tail = (r: ExecResult) => `${r.stdout}${r.stderr}`.trim().split('\n').slice(-12).join('\n');
  try {
    opts.onProgress?.('building the image to probe its health path');
    const b = await exec(probeBuildArgv(s, tag, labels), { nothrow: true, timeoutMs: opts.buildTimeoutMs ?? 600_000 });
    if (b.code !== 0) return { status: 'failed', answers: [], reason: `the image did not build (docker buildx build exit ${b.code ?? 'timeout'}):\n${tail(b)}`, seconds: seconds() };
    const r = await exec(probeRunArgv(s, tag, name, labels), { nothrow: true, timeoutMs: 60_000 });
    if (r.code !== 0) return { status: 'failed', answers: [], reason: `the container did not start:\n${tail(r)}`, seconds: seconds() };
    const portOut = (await exec(['docker', 'port', name, `${s.port}/tcp`], { nothrow: true })).stdout;
    const hostPort = /127\.0\.0\.1:(\d+)/.exec(portOut)?.[1];
    if (!hostPort) return { status: 'failed', answers: [], reason: `port ${s.port} was not published (${portOut.trim() || 'no output'})`, seconds: seconds() };
    opts.onProgress?.(`probing ${s.candidates.join(' ')} on 127.0.0.1:${hostPort}`);

    let partialRounds = 0;
    const attempt = async (): Promise<ProbeResult | undefined> => {
      const answers: ProbeResult['answers'] = [];
      for (const path of s.candidates) {
        try {
          answers.push({ path, status: (await httpGet(`http://127.0.0.1:${hostPort}${path}`, 2000)).status });
        } catch (err) {
          answers.push({ path, error: (err as Error).message });
        }
      }
      const noPath: ProbeResult = { status: 'none', answers, reason: 'the app answered, but no candidate path with 2xx', seconds: seconds() };
      const verdict = judgeAnswers(s.candidates, answers);
      if (verdict === 'none') return noPath;
      if (verdict !== undefined) return { status: 'found', path: verdict, answers, seconds: seconds() };
      // Some paths answered, others failed: ask again, three rounds at most (a path that always
      // fails, e.g. one that hangs, must not turn "no health path" into a timeout).
      if (answers.some((a) => a.status !== undefined)) return ++partialRounds < 3 ? undefined : noPath;
      const running = (await exec(['docker', 'inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', name], { nothrow: true })).stdout.trim();
      if (!running.startsWith('true')) {
        const logs = await exec(['docker', 'logs', '--tail', '12', name], { nothrow: true });
        return { status: 'failed', answers, reason: `the app exited (code ${running.split(' ')[1] ?? '?'}) before answering:\n${tail(logs)}`, seconds: seconds() };
      }
      return undefined;
    };
    try {
      return await poll(`${s.candidates.join(' ')} on 127.0.0.1:${hostPort}`, attempt, { timeoutMs: opts.answerTimeoutMs ?? 45_000, intervalMs: 500, maxAttempts: 200, retry: () => false });
    } catch (err) {
      if (!(err instanceof PollError)) throw err;
      return { status: 'failed', answers: [], reason: `the app did not answer on port ${s.port} within ${Math.round((opts.answerTimeoutMs ?? 45_000) / 1000)} s`, seconds: seconds() };
    }
  } finally {
    await exec(['docker', 'rm', '--force', '--volumes', name], { nothrow: true }).catch(() => undefined);
    await exec(['docker', 'image', 'rm', '--force', tag], { nothrow: true }).catch(() => undefined);
  }
}
