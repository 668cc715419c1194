/**
 * Validated configuration (`deploy.guard.metrics`) -> metric specs, and each spec's provider.
 * The built-in access-log provider needs the hosts, so the caller hands in its source.
 */
import type { z } from 'zod';
import type { Metric } from '../config/sections/analysis.ts';
import { parseCondition } from './condition.ts';
import type { MetricSpec, ProviderSpec } from './metric.ts';
import { accessLogProvider, sharedSource, type AccessLogSource } from './providers/access-log.ts';
import { jobProvider } from './providers/job.ts';
import { prometheusProvider } from './providers/prometheus.ts';
import type { Provider } from './providers/types.ts';
import { webProvider } from './providers/web.ts';

export type MetricConfig = z.output<typeof Metric>;

export function metricSpec(m: MetricConfig): MetricSpec {
  const p = m.provider;
  const provider: ProviderSpec = p.prometheus
    ? { kind: 'prometheus', ...p.prometheus }
    : p.web
      ? { kind: 'web', ...p.web }
      : p.job
        ? { kind: 'job', ...p.job }
        : { kind: 'accessLog', minRequests: p.accessLog?.minRequests ?? 20 };
  return {
    name: m.name,
    provider,
    intervalSeconds: m.interval,
    ...(m.count !== undefined ? { count: m.count } : {}),
    ...(m.successCondition ? { successCondition: parseCondition(m.successCondition) } : {}),
    ...(m.failureCondition ? { failureCondition: parseCondition(m.failureCondition) } : {}),
    ...(m.for !== undefined ? { forSeconds: m.for } : {}),
    failureLimit: m.failureLimit,
    ...(m.inconclusiveLimit !== undefined ? { inconclusiveLimit: m.inconclusiveLimit } : {}),
    consecutiveErrorLimit: m.consecutiveErrorLimit,
  };
}

export interface ProviderDeps {
  /** The access logs of the environment's hosts (one source shared by every access-log metric). */
  accessLog?: () => AccessLogSource;
  /** Environment of job commands (BASE_URL...). */
  jobEnv?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Providers for `specs`, one instance per distinct provider (shared measurements). */
export function providersFor(specs: readonly MetricSpec[], deps: ProviderDeps): { spec: MetricSpec; provider: Provider }[] {
  const made = new Map<string, Provider>();
  let source: AccessLogSource | undefined;
  return specs.map((spec) => {
    const p = spec.provider;
    let provider: Provider;
    switch (p.kind) {
      case 'accessLog':
        if (!deps.accessLog) throw new Error(`metric ${spec.name}: the access-log provider needs the environment's hosts`);
        source ??= sharedSource(deps.accessLog());
        provider = accessLogProvider(source, p.minRequests);
        break;
      case 'prometheus':
        provider = prometheusProvider(p);
        break;
      case 'web':
        provider = webProvider(p);
        break;
      case 'job':
        provider = jobProvider({ ...p, env: deps.jobEnv, cwd: deps.cwd });
        break;
    }
    const shared = made.get(provider.key) ?? provider;
    made.set(provider.key, shared);
    return { spec, provider: shared };
  });
}
