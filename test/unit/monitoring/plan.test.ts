// The monitoring set as data: placement, prometheus.yml, the docker commands, promtool's JSON.
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Monitoring } from '../../../src/config/sections/monitoring.ts';
import { runExporter, runPrometheus, promQuery, checkConfig } from '../../../src/deploy/commands/monitoring.ts';
import { expectedTargets, parseTargets } from '../../../src/deploy/monitoring.ts';
import { planMonitoring, renderPrometheusConfig } from '../../../src/monitoring/prometheus-config.ts';
import { ConfigError } from '../../../src/util/errors.ts';

const hosts = [{ name: 'web1', privateAddress: '10.0.0.1' }, { name: 'web2', privateAddress: '10.0.0.2' }, { name: 'worker1', privateAddress: '10.0.0.3' }];
const m = Monitoring.parse({ host: 'web1' });

describe('monitoring plan', () => {
  it('defaults: Prometheus on 127.0.0.1:9090, 15 s scrapes, 15 days kept, the production thresholds', () => {
    expect(m).toMatchObject({ bind: '127.0.0.1', port: 9090, scrapeIntervalSeconds: 15, retention: '15d', exporterPort: 9100, alerts: { cpuPercent: 80, memoryPercent: 90, diskPercent: 95, errorRatePercent: 1, responseTimeMs: 1000, dbConnections: 50 } });
    expect(Monitoring.safeParse({ host: 'web1', retention: 'forever' }).success).toBe(false);
  });

  it('exporters on every host (loopback on the monitoring host), the app through each web host\'s proxy', () => {
    const plan = planMonitoring(m, hosts, ['web1', 'web2'], 8080, 'environments/production.yaml');
    expect(plan.exporters).toEqual([
      { host: 'web1', listen: '127.0.0.1:9100', target: '127.0.0.1:9100' },
      { host: 'web2', listen: '10.0.0.2:9100', target: '10.0.0.2:9100' },
      { host: 'worker1', listen: '10.0.0.3:9100', target: '10.0.0.3:9100' },
    ]);
    expect(plan.apps).toEqual([{ host: 'web1', target: '127.0.0.1:8080' }, { host: 'web2', target: '10.0.0.2:8080' }]);
    expect(expectedTargets(plan)).toEqual(['app web1', 'app web2', 'node web1', 'node web2', 'node worker1', 'prometheus web1']);
    const yml = parse(renderPrometheusConfig(plan, 'production', '/etc/pier-monitoring/rules.yml'));
    expect(yml.global).toEqual({ scrape_interval: '15s', evaluation_interval: '15s', external_labels: { environment: 'production' } });
    expect(yml.rule_files).toEqual(['/etc/pier-monitoring/rules.yml']);
    expect(yml.scrape_configs.map((s: { job_name: string; static_configs: { targets: string[]; labels: { host: string } }[] }) => [s.job_name, s.static_configs.map((c) => `${c.labels.host}=${c.targets.join()}`)])).toEqual([
      ['node', ['web1=127.0.0.1:9100', 'web2=10.0.0.2:9100', 'worker1=10.0.0.3:9100']],
      ['app', ['web1=127.0.0.1:8080', 'web2=10.0.0.2:8080']],
      ['prometheus', ['web1=127.0.0.1:9090']],
    ]);
  });

  it('a host other than the monitoring host without privateAddress, or an unknown monitoring host: a config error naming the key', () => {
    const bad = () => planMonitoring(m, [{ name: 'web1' }, { name: 'web2' }], ['web1'], 80, 'environments/production.yaml');
    expect(bad).toThrow(ConfigError);
    expect(bad).toThrow(/environments\/production\.yaml: hosts\[1\]\.privateAddress: required with monitoring/);
    expect(() => planMonitoring(Monitoring.parse({ host: 'db9' }), hosts, [], 80, 'f.yaml')).toThrow(/monitoring\.host: expected a host name from hosts \(web1, web2, worker1\), got "db9"/);
    // One host needs no private address.
    expect(planMonitoring(m, [{ name: 'web1' }], ['web1'], 80, 'f').exporters).toEqual([{ host: 'web1', listen: '127.0.0.1:9100', target: '127.0.0.1:9100' }]);
  });

  it('docker commands: host network, pier.monitoring labels, config read-only, data in a named volume', () => {
    expect(runExporter('prom/node-exporter:v1.8.2', '10.0.0.2:9100')).toEqual(['docker', 'run', '--detach', '--name', 'pier-node-exporter', '--network', 'host', '--restart', 'unless-stopped', '--label', 'pier.monitoring=node-exporter', '--pid', 'host', '--volume', '/:/host:ro', 'prom/node-exporter:v1.8.2', '--path.rootfs=/host', '--web.listen-address=10.0.0.2:9100']);
    const p = runPrometheus('prom/prometheus:v2.54.1', { dir: '/var/lib/pier/', listen: '127.0.0.1:9090', retention: '7d' });
    expect(p).toContain('--volume');
    expect(p.slice(p.indexOf('prom/prometheus:v2.54.1'))).toEqual(['prom/prometheus:v2.54.1', '--config.file=/etc/pier-monitoring/prometheus.yml', '--storage.tsdb.path=/prometheus', '--storage.tsdb.retention.time=7d', '--web.listen-address=127.0.0.1:9090']);
    expect(p).toEqual(expect.arrayContaining(['/var/lib/pier/monitoring:/etc/pier-monitoring:ro', 'pier-prometheus-data:/prometheus', 'pier.monitoring=prometheus']));
    expect(promQuery('0.0.0.0:9090', 'up').slice(-2)).toEqual(['http://127.0.0.1:9090', 'up']);
    expect(checkConfig('img', '/var/lib/pier', '/etc/pier-monitoring/prometheus.yml')).toEqual(['docker', 'run', '--rm', '--network', 'none', '--label', 'pier.monitoring=check', '--volume', '/var/lib/pier/monitoring:/etc/pier-monitoring:ro', '--entrypoint', 'promtool', 'img', 'check', 'config', '/etc/pier-monitoring/prometheus.yml']);
  });

  it('target health from promtool query -o json', () => {
    const json = JSON.stringify([
      { metric: { __name__: 'up', job: 'node', host: 'web2', instance: '10.0.0.2:9100' }, value: [1, '0'] },
      { metric: { __name__: 'up', job: 'app', host: 'web1', instance: '127.0.0.1:80' }, value: [1, '1'] },
    ]);
    expect(parseTargets(json)).toEqual([{ job: 'app', host: 'web1', instance: '127.0.0.1:80', up: true }, { job: 'node', host: 'web2', instance: '10.0.0.2:9100', up: false }]);
  });
});
