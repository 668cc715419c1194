/**
 * `pier monitoring up|status|down <env>`: the production monitoring set. up writes prometheus.yml
 * and the alert rules on the monitoring host, checks them with promtool in the Prometheus image
 * (a bad file never replaces a running Prometheus), (re)creates a node exporter on every host and
 * Prometheus on the monitoring host, then waits until every target has been scraped. status
 * reports the containers and each target's health; down removes what up started (Prometheus's
 * data only with --volumes).
 */
import { ConfigError } from '../util/errors.ts';
import { UsageError } from '../util/errors.ts';
import { notYet, poll } from '../util/poll.ts';
import { CONFIG_MOUNT, EXPORTER_CONTAINER, PROMETHEUS_CONTAINER, runExporter, runPrometheus } from './commands/monitoring.ts';
import { withHosts } from './fleet.ts';
import { deployClock, type HostOps } from './host-ops.ts';
import type { DeployTarget } from './target.ts';
import { planMonitoring, renderPrometheusConfig, type MonitoringPlan } from '../monitoring/prometheus-config.ts';
import { alertNames, alertGroups, renderRules } from '../monitoring/rules.ts';

export interface TargetHealth {
  job: string;
  host: string;
  instance: string;
  up: boolean;
}

export interface MonitoringReport {
  host: string;
  /** Prometheus's listen address on the monitoring host. */
  listen: string;
  containers: { host: string; container: string; state: string }[];
  targets: TargetHealth[];
  rules: string[];
  ok: boolean;
  detail?: string;
}

/** The environment's monitoring plan; a usage error when it has none. */
export function monitoringPlan(target: DeployTarget): MonitoringPlan {
  const env = target.config?.env;
  const file = `environments/${target.envName}.yaml`;
  if (!env?.monitoring) throw new UsageError(`${file} has no monitoring section`, 'add monitoring: { host: <a host name> } (see docs/configuration.md)');
  return planMonitoring(env.monitoring, env.hosts, target.webHosts, target.settings.proxyPort, file);
}

/** `up` samples from promtool's JSON (pure): one entry per scraped target. */
export function parseTargets(json: string): TargetHealth[] {
  const samples = JSON.parse(json) as { metric: Record<string, string>; value: [number, string] }[];
  return samples
    .map((s) => ({ job: s.metric.job ?? '', host: s.metric.host ?? '', instance: s.metric.instance ?? '', up: s.value[1] === '1' }))
    .sort((a, b) => `${a.job} ${a.host}`.localeCompare(`${b.job} ${b.host}`));
}

/** Every target the plan scrapes, as `job host` (pure). */
export const expectedTargets = (plan: MonitoringPlan): string[] =>
  [...plan.exporters.map((e) => `node ${e.host}`), ...plan.apps.map((a) => `app ${a.host}`), `prometheus ${plan.host}`].sort();

function split(ops: HostOps[], plan: MonitoringPlan): { prom: HostOps; all: HostOps[] } {
  return { prom: ops.find((o) => o.name === plan.host)!, all: ops };
}

async function containers(ops: HostOps[], plan: MonitoringPlan): Promise<MonitoringReport['containers']> {
  const list = [...ops.map((o) => [o, EXPORTER_CONTAINER] as const), [split(ops, plan).prom, PROMETHEUS_CONTAINER] as const];
  return Promise.all(list.map(async ([o, c]) => ({ host: o.name, container: c, state: (await o.accessoryState(c))?.state ?? 'absent' })));
}

async function targets(prom: HostOps, plan: MonitoringPlan): Promise<TargetHealth[] | undefined> {
  const out = await prom.promQuery(plan.listen, 'up');
  return out === undefined ? undefined : parseTargets(out);
}

const allUp = (plan: MonitoringPlan, t: TargetHealth[]): boolean => {
  const seen = t.map((x) => `${x.job} ${x.host}`).sort();
  return JSON.stringify(seen) === JSON.stringify(expectedTargets(plan)) && t.every((x) => x.up);
};

export async function monitoringUp(target: DeployTarget, opts: { timeoutSeconds?: number } = {}): Promise<MonitoringReport> {
  const plan = monitoringPlan(target);
  const m = plan.config;
  return withHosts(target, async (ops) => {
    const { prom } = split(ops, plan);
    // The configuration first, checked by the image's own promtool before anything is replaced.
    await prom.writeMonitoringFile('prometheus.yml', renderPrometheusConfig(plan, target.envName, `${CONFIG_MOUNT}/rules.yml`));
    await prom.writeMonitoringFile('rules.yml', renderRules(m.alerts));
    await prom.ensureImage(m.prometheusImage);
    const check = await prom.checkPrometheusConfig(m.prometheusImage, `${CONFIG_MOUNT}/prometheus.yml`);
    if (check) throw new ConfigError([{ file: `environments/${target.envName}.yaml`, path: 'monitoring', message: `promtool rejected the generated configuration: ${check}` }]);
    await Promise.all(ops.map(async (o) => {
      const e = plan.exporters.find((x) => x.host === o.name)!;
      await o.ensureImage(m.nodeExporterImage);
      await o.replaceContainer(EXPORTER_CONTAINER, runExporter(m.nodeExporterImage, e.listen));
    }));
    await prom.replaceContainer(PROMETHEUS_CONTAINER, runPrometheus(m.prometheusImage, { dir: target.settings.dir, listen: plan.listen, retention: m.retention }));
    // Every target scraped at least once: two scrape intervals plus start-up.
    const timeoutMs = (opts.timeoutSeconds ?? Math.max(60, 3 * m.scrapeIntervalSeconds)) * 1000;
    let last: TargetHealth[] = [];
    const done = await poll('monitoring targets', async () => {
      const t = await targets(prom, plan);
      if (t) last = t;
      return t && allUp(plan, t) ? true : notYet(t ? `${t.filter((x) => x.up).length}/${expectedTargets(plan).length} targets up` : 'Prometheus not answering');
    }, { timeoutMs, intervalMs: 1000, clock: deployClock }).catch(() => false);
    const report: MonitoringReport = { host: plan.host, listen: plan.listen, containers: await containers(ops, plan), targets: last, rules: alertNames(alertGroups(m.alerts)), ok: done };
    if (!done) report.detail = `not every target is up after ${timeoutMs / 1000} s (expected ${expectedTargets(plan).join(', ')})`;
    return report;
  });
}

export async function monitoringStatus(target: DeployTarget): Promise<MonitoringReport> {
  const plan = monitoringPlan(target);
  return withHosts(target, async (ops) => {
    const t = (await targets(split(ops, plan).prom, plan)) ?? [];
    const c = await containers(ops, plan);
    const ok = c.every((x) => x.state === 'running') && allUp(plan, t);
    return { host: plan.host, listen: plan.listen, containers: c, targets: t, rules: alertNames(alertGroups(plan.config.alerts)), ok, ...(ok ? {} : { detail: c.some((x) => x.state !== 'running') ? 'a container is not running' : 'a target is down or not scraped yet' }) };
  });
}

export async function monitoringDown(target: DeployTarget, opts: { volumes?: boolean } = {}): Promise<MonitoringReport> {
  const plan = monitoringPlan(target);
  return withHosts(target, async (ops) => {
    await Promise.all(ops.map((o) => o.removeMonitoring(Boolean(opts.volumes) && o.name === plan.host)));
    const c = await containers(ops, plan);
    return { host: plan.host, listen: plan.listen, containers: c, targets: [], rules: [], ok: c.every((x) => x.state === 'absent') };
  });
}
