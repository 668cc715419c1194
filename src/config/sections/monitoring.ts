import { z } from 'zod';

/** The seeds' production thresholds: each is one alert rule (src/monitoring/rules.ts). */
export const AlertThresholds = z
  .strictObject({
    cpuPercent: z.number().min(0).max(100).default(80).describe('HostHighCpu: a host\'s CPU busy share (all cores) above this for 5 minutes'),
    memoryPercent: z.number().min(0).max(100).default(90).describe('HostHighMemory: a host\'s memory in use (1 - MemAvailable/MemTotal) above this for 5 minutes'),
    diskPercent: z.number().min(0).max(100).default(95).describe('HostDiskFull: a host filesystem\'s space in use above this for 5 minutes'),
    errorRatePercent: z.number().min(0).max(100).default(1).describe('AppHighErrorRate: share of 5xx answers of the app (all hosts) above this for 5 minutes'),
    responseTimeMs: z.number().positive().default(1000).describe('AppSlowResponses: p95 response time of the app (all hosts) above this for 5 minutes'),
    dbConnections: z.number().int().min(0).default(50).describe('DatabaseConnectionsHigh: open database connections of the app\'s pools (db_pool_connections, all instances) above this for 5 minutes'),
  })
  .describe('Alert thresholds (defaults: the production checklist\'s)');

export const Monitoring = z
  .strictObject({
    host: z.string().min(1).describe('Name of the host (in hosts) Prometheus runs on; every host gets a node exporter'),
    scrapeIntervalSeconds: z.number().int().min(1).max(300).default(15).describe('How often Prometheus scrapes every target and evaluates the rules'),
    retention: z.string().regex(/^\d+[smhdwy]$/, 'a duration such as 15d or 12h').default('15d').describe('How long Prometheus keeps samples (--storage.tsdb.retention.time)'),
    port: z.number().int().min(1).max(65535).default(9090).describe('Port Prometheus listens on, on bind of the monitoring host'),
    bind: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'an IPv4 address').default('127.0.0.1').describe('Address Prometheus listens on (127.0.0.1: reach it through an SSH tunnel); 0.0.0.0 only when written here'),
    exporterPort: z.number().int().min(1).max(65535).default(9100).describe('Port each host\'s node exporter listens on (its privateAddress; 127.0.0.1 on the monitoring host)'),
    prometheusImage: z.string().min(1).default('prom/prometheus:v2.54.1').describe('Prometheus image'),
    nodeExporterImage: z.string().min(1).default('prom/node-exporter:v1.8.2').describe('Node exporter image'),
    alerts: AlertThresholds.default(AlertThresholds.parse({})),
  })
  .describe('Production monitoring (pier monitoring up|status|down): Prometheus on one host with the alert rules, a node exporter on every host, the app\'s /metrics scraped through each web host\'s proxy');
