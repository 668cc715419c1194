/**
 * The analysis section: named metrics with a provider, interval/count, success and failure
 * conditions, `for:` or a failure limit, and what an inconclusive result does. Used by
 * `deploy.guard` (and `pier guard <env>`); `checks:`/`smoke:` commands of an environment.
 * The seeds' three rollback rules are the default metrics.
 */
import { z } from 'zod';
import { parseCondition } from '../../analysis/condition.ts';
import { parseDuration } from '../../analysis/duration.ts';
import { Command } from './app.ts';

/** Seconds as a number, or `500ms`, `30s`, `2m`, `1h`, `1m30s`. */
export const Duration = z
  .union([z.number().nonnegative(), z.string().refine((s) => parseDuration(s) !== undefined, 'a duration such as 30s, 2m, 1h or 1m30s (or seconds as a number)')])
  .transform((v) => parseDuration(v)!)
  .describe('Seconds, or a duration such as 30s, 2m, 1h');

const ConditionText = z.string().superRefine((s, ctx) => {
  try {
    parseCondition(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

const Provider = z
  .strictObject({
    accessLog: z
      .strictObject({
        minRequests: z.number().int().nonnegative().default(20).describe('Below this many requests in a measurement, rates are not judged (inconclusive)'),
      })
      .optional()
      .describe("Built in: the hosts' proxies' JSON access logs, requests since the previous measurement. Values: requests, errors, error_rate, availability, p50_ms, p95_ms, p99_ms, and <host>.<value>"),
    prometheus: z
      .strictObject({
        address: z.string().url().describe('Prometheus base URL, e.g. http://prometheus:9090'),
        query: z.string().min(1).describe('PromQL returning one sample (value: result)'),
        timeoutSeconds: z.number().positive().default(10),
      })
      .optional(),
    web: z
      .strictObject({
        url: z.string().url().describe('URL to GET'),
        jsonPath: z.string().startsWith('$').default('$').describe('Where the value is in the JSON answer, e.g. $.checks.db.latency_ms (value: result; the HTTP status: status)'),
        headers: z.record(z.string(), z.string()).default({}),
        timeoutSeconds: z.number().positive().default(10),
      })
      .optional(),
    job: z
      .strictObject({
        command: Command.describe('Run on the deploying machine with BASE_URL set (values: exit_code; result 1 when it exited 0)'),
        timeoutSeconds: z.number().positive().default(300),
      })
      .optional(),
  })
  .superRefine((p, ctx) => {
    const set = Object.entries(p).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (set.length !== 1) ctx.addIssue({ code: 'custom', message: `expected exactly one provider of accessLog, prometheus, web, job (found ${set.length ? set.join(', ') : 'none'})` });
  })
  .describe('Where the numbers come from: exactly one of accessLog, prometheus, web, job');

export const Metric = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, _ . -').describe('Shown with its figures when it decides'),
    provider: Provider.default({ accessLog: { minRequests: 20 } }),
    interval: Duration.default(10).describe('Time between measurements (the first comes one interval after the start)'),
    count: z.number().int().positive().optional().describe('Measurements after which this metric is done (default: until the window ends)'),
    successCondition: ConditionText.optional().describe('A measurement succeeds when this holds, e.g. exit_code == 0'),
    failureCondition: ConditionText.optional().describe('A measurement fails when this holds, e.g. error_rate > 5%'),
    for: Duration.optional().describe('The failure condition must hold this long without a passing measurement in between to fail the metric (like Prometheus alert rules)'),
    failureLimit: z.number().int().nonnegative().default(0).describe('Without for: the metric fails when more measurements than this failed'),
    inconclusiveLimit: z.number().int().nonnegative().optional().describe('The metric is inconclusive when more measurements than this were inconclusive (default: only when none was conclusive)'),
    consecutiveErrorLimit: z.number().int().nonnegative().default(4).describe('Provider errors in a row beyond this make the metric inconclusive (error)'),
  })
  .superRefine((m, ctx) => {
    if (!m.successCondition && !m.failureCondition) ctx.addIssue({ code: 'custom', message: 'expected a failureCondition or a successCondition (or both)' });
  })
  .describe('A named metric of the analysis');

/** The seeds' three rollback rules: error rate > 5 % for 2 m, response time (p95) > 2 s for 5 m, availability < 95 % for 1 m. */
export const SEED_METRICS = [
  { name: 'error-rate', failureCondition: 'error_rate > 5%', for: '2m' },
  { name: 'response-time', failureCondition: 'p95_ms > 2000', for: '5m' },
  { name: 'availability', failureCondition: 'availability < 95%', for: '1m' },
] as const;

export const Guard = z
  .strictObject({
    window: Duration.default(600).describe('How long the analysis runs after a deploy completes'),
    inconclusive: z
      .enum(['pause', 'abort'])
      .default('pause')
      .describe('pause: stop watching, leave the release serving and say so (exit 1); abort: roll every host back as for a failure'),
    metrics: z.array(Metric).min(1).default(SEED_METRICS.map((m) => Metric.parse(m))).describe("Default: the seeds' rules (error-rate, response-time, availability) on the access logs"),
  })
  .describe('Post-deploy guard: runs the analysis for a window after the deploy; a failed metric rolls every host back');

export const Check = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, _ . -'),
    command: Command.describe('Run on the deploying machine (from the repository root) with BASE_URL set to the environment url'),
    timeoutSeconds: z.number().positive().default(600),
    reports: z.array(z.string()).default([]).describe('JUnit XML files the command writes (relative to the repository root), read for the counts'),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}).describe('Extra environment for the command'),
  })
  .describe('A named command run against the environment (integration, E2E, smoke tests)');
