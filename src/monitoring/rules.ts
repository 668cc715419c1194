/**
 * The production alert rules (pure): the production checklist's thresholds (CPU, memory, disk,
 * error rate, response time, database connections; overridable in `monitoring.alerts`) and the
 * SLO rules staging has (compose/staging/alerts.yml), with the app's job named `app`. Every rule
 * has `promtool test rules` cases in test/fixtures/monitoring/rules.test.yml (a unit test fails
 * when one has none).
 */
import { stringify } from 'yaml';

export interface Thresholds {
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
  errorRatePercent: number;
  responseTimeMs: number;
  dbConnections: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { cpuPercent: 80, memoryPercent: 90, diskPercent: 95, errorRatePercent: 1, responseTimeMs: 1000, dbConnections: 50 };

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string };
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

/** Job names of the scrape config (src/monitoring/prometheus-config.ts). */
export const JOBS = { node: 'node', app: 'app', prometheus: 'prometheus' } as const;

/** Filesystems that are not disks (a full tmpfs or a container's overlay is not a full disk). */
const REAL_FS = 'fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|autofs|proc|sysfs"';

export function alertGroups(t: Thresholds = DEFAULT_THRESHOLDS): RuleGroup[] {
  const app = `job="${JOBS.app}"`;
  return [
    {
      name: 'pier-hosts',
      rules: [
        {
          alert: 'HostHighCpu',
          expr: `100 * (1 - avg by (instance, host) (rate(node_cpu_seconds_total{job="${JOBS.node}",mode="idle"}[5m]))) > ${t.cpuPercent}`,
          for: '5m',
          labels: { severity: 'warning', threshold: 'cpu' },
          annotations: { summary: `CPU above ${t.cpuPercent}% on {{ $labels.host }} for 5 minutes`, description: 'CPU busy {{ $value | humanize }}% on {{ $labels.instance }}.' },
        },
        {
          alert: 'HostHighMemory',
          expr: `100 * (1 - node_memory_MemAvailable_bytes{job="${JOBS.node}"} / node_memory_MemTotal_bytes{job="${JOBS.node}"}) > ${t.memoryPercent}`,
          for: '5m',
          labels: { severity: 'warning', threshold: 'memory' },
          annotations: { summary: `Memory above ${t.memoryPercent}% on {{ $labels.host }} for 5 minutes`, description: 'Memory in use {{ $value | humanize }}% on {{ $labels.instance }}.' },
        },
        {
          alert: 'HostDiskFull',
          expr: `100 * (1 - node_filesystem_avail_bytes{job="${JOBS.node}",${REAL_FS}} / node_filesystem_size_bytes{job="${JOBS.node}",${REAL_FS}}) > ${t.diskPercent}`,
          for: '5m',
          labels: { severity: 'page', threshold: 'disk' },
          annotations: { summary: `Disk above ${t.diskPercent}% on {{ $labels.host }} for 5 minutes`, description: '{{ $labels.mountpoint }} is {{ $value | humanize }}% full (pier prune frees old release images).' },
        },
      ],
    },
    {
      name: 'pier-app',
      rules: [
        {
          alert: 'AppHighErrorRate',
          expr: `100 * sum(rate(http_requests_total{${app},status=~"5.."}[5m])) / sum(rate(http_requests_total{${app}}[5m])) > ${t.errorRatePercent}`,
          for: '5m',
          labels: { severity: 'page', threshold: 'error-rate' },
          annotations: { summary: `App error rate above ${t.errorRatePercent}% for 5 minutes`, description: '{{ $value | humanize }}% of requests failed with 5xx.' },
        },
        {
          alert: 'AppSlowResponses',
          expr: `1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${app}}[5m]))) > ${t.responseTimeMs}`,
          for: '5m',
          labels: { severity: 'page', threshold: 'response-time' },
          annotations: { summary: `App p95 response time above ${t.responseTimeMs} ms for 5 minutes`, description: 'p95 is {{ printf "%.0f" $value }} ms.' },
        },
        {
          alert: 'DatabaseConnectionsHigh',
          expr: `sum(db_pool_connections{${app}}) > ${t.dbConnections}`,
          for: '5m',
          labels: { severity: 'warning', threshold: 'db-connections' },
          annotations: { summary: `More than ${t.dbConnections} database connections for 5 minutes`, description: 'The app holds {{ $value }} database connections.' },
        },
      ],
    },
    {
      // Staging's SLO rules (compose/staging/alerts.yml), on the production job.
      name: 'pier-slo',
      rules: [
        {
          alert: 'ApiHighErrorRate',
          expr: `sum(rate(http_requests_total{${app},status=~"5.."}[1m])) / sum(rate(http_requests_total{${app}}[1m])) > 0.05`,
          for: '2m',
          labels: { severity: 'page', slo: 'error-rate' },
          annotations: { summary: 'API error rate above 5% for 2 minutes', description: '{{ $value | humanizePercentage }} of requests failed with 5xx.' },
        },
        {
          alert: 'ApiHighLatencyP95',
          expr: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${app}}[5m]))) > 0.5`,
          for: '5m',
          labels: { severity: 'page', slo: 'latency' },
          annotations: { summary: 'API p95 latency above 500 ms for 5 minutes', description: 'p95 is {{ $value | humanizeDuration }}.' },
        },
        {
          alert: 'ApiAvailabilityLow',
          // Share of successful scrapes of the app (through each host's proxy) over the last minute.
          expr: `avg_over_time(up{${app}}[1m]) < 0.95`,
          for: '1m',
          labels: { severity: 'page', slo: 'availability' },
          annotations: { summary: 'API availability below 95% for 1 minute', description: 'Only {{ $value | humanizePercentage }} of scrapes of {{ $labels.host }} succeeded.' },
        },
      ],
    },
  ];
}

/** Every alert name, in file order. */
export const alertNames = (groups: RuleGroup[]): string[] => groups.flatMap((g) => g.rules.map((r) => r.alert));

/** The rules file Prometheus loads (YAML). */
export function renderRules(t: Thresholds = DEFAULT_THRESHOLDS): string {
  return `# Generated by pier (src/monitoring/rules.ts) from monitoring.alerts; do not edit on the host.\n${stringify({ groups: alertGroups(t) }, { lineWidth: 0 })}`;
}
