/**
 * Issue 19, production monitoring, on 2 simulated hosts: `promtool test rules` passes for the
 * generated rules (every alert has its cases: test/unit/monitoring/rules.test.ts), then the
 * deployed test app gets `pier monitoring up`: Prometheus on web1 reports every target up (both
 * node exporters, the app's /metrics through both proxies, itself) and has loaded every rule;
 * web2's exporter listens on its private address only; `down --volumes` leaves nothing.
 */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.ts';
import { Progress } from '../../src/deploy/progress.ts';
import type { MonitoringReport } from '../../src/deploy/monitoring.ts';
import { alertGroups, alertNames, renderRules } from '../../src/monitoring/rules.ts';
import { imageFor } from '../../src/machine/images.ts';
import { interpolationVars } from '../../src/config/load.ts';
import { exec } from '../../src/util/exec.ts';
import { poll } from '../../src/util/poll.ts';
import { buildTestApp, deployTarget, writeProject, type Fleet } from '../helpers/fleet.ts';
import { fixturesDir, repoRoot } from '../helpers/paths.ts';
import { runPier } from '../helpers/pier.ts';
import { useFleet } from '../helpers/use-fleet.ts';

const vars = interpolationVars(repoRoot);
const prometheusImage = imageFor('prometheus', vars);
const exporterImage = imageFor('node-exporter', vars);
const APP = 'mon-app';
let fleet: Fleet;
let config: string;
const ips: Record<string, string> = {};
const pier = (...args: string[]) => runPier([...args, '--config', config], { cwd: dirname(config), timeoutMs: 180_000 });
const on = (host: string, ...argv: string[]) => fleet.hostExec(host, argv);
const api = async (path: string) => JSON.parse(await on('web1', 'curl', '--silent', '--max-time', '5', `http://127.0.0.1:9090${path}`)) as { status: string; data: unknown };

useFleet({ count: 2, alongside: () => [buildTestApp('pier-test/deploy-app:mon')] }, async (f) => {
  fleet = f;
  await Promise.all([
    fleet.push('pier-test/deploy-app:mon', 'pier-test/mon-app:1.0.0'),
    fleet.push(prometheusImage, 'pier-test/prometheus:mon'),
    fleet.push(exporterImage, 'pier-test/node-exporter:mon'),
  ]);
  for (const h of fleet.hosts) ips[h.name] = (await exec(['docker', 'inspect', '--format', `{{(index .NetworkSettings.Networks "${fleet.network}").IPAddress}}`, h.container])).stdout.trim();
  config = writeProject(fleet, { app: APP, image: 'pier-test/mon-app' });
  const envYaml = join(dirname(config), 'environments', 'production.yaml');
  const doc = parse(readFileSync(envYaml, 'utf8'));
  doc.hosts = doc.hosts.map((h: { name: string }) => ({ ...h, privateAddress: ips[h.name] }));
  doc.monitoring = { host: 'web1', scrapeIntervalSeconds: 2, retention: '1d', prometheusImage: 'reg:5000/pier-test/prometheus:mon', nodeExporterImage: 'reg:5000/pier-test/node-exporter:mon' };
  writeFileSync(envYaml, stringify(doc));
  const r = await deploy(deployTarget(config), { version: '1.0.0', progress: new Progress(() => undefined) });
  expect(r.ok, r.error).toBe(true);
});

describe.sequential('production monitoring on the simulated fleet', () => {
  it('promtool test rules passes for every generated rule (in the Prometheus image)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pier-rules-'));
    writeFileSync(join(dir, 'rules.yml'), renderRules());
    copyFileSync(join(fixturesDir, 'monitoring', 'rules.test.yml'), join(dir, 'rules.test.yml'));
    chmodSync(dir, 0o755);
    const promtool = (...args: string[]) => exec(['docker', 'run', '--rm', '--network', 'none', '-v', `${dir}:/rules:ro`, '-w', '/rules', '--entrypoint', 'promtool', prometheusImage, ...args], { nothrow: true });
    const check = await promtool('check', 'rules', 'rules.yml');
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`SUCCESS: ${alertNames(alertGroups()).length} rules found`);
    const unit = await promtool('test', 'rules', 'rules.test.yml');
    expect(unit.code, unit.stdout + unit.stderr).toBe(0);
    expect(unit.stdout).toContain('SUCCESS');
  });

  it('pier monitoring up: every target up (exporters, the app through both proxies, Prometheus), every rule loaded', async () => {
    const up = await pier('monitoring', 'up', 'production', '--json', '--timeout', '60');
    expect(up.code, up.stderr + up.stdout).toBe(0);
    const report = JSON.parse(up.stdout) as MonitoringReport;
    expect(report.targets.map((t) => `${t.job} ${t.host} ${t.instance} ${t.up}`)).toEqual([
      `app web1 127.0.0.1:80 true`,
      `app web2 ${ips.web2}:80 true`,
      `node web1 127.0.0.1:9100 true`,
      `node web2 ${ips.web2}:9100 true`,
      `prometheus web1 127.0.0.1:9090 true`,
    ]);
    expect(report.containers.map((c) => `${c.host} ${c.container} ${c.state}`)).toEqual(['web1 pier-node-exporter running', 'web2 pier-node-exporter running', 'web1 pier-prometheus running']);
    // Prometheus's own API agrees, and has the rules loaded.
    const targets = (await api('/api/v1/targets')).data as { activeTargets: { labels: { job: string; host: string }; health: string }[] };
    expect(targets.activeTargets.map((t) => `${t.labels.job} ${t.labels.host} ${t.health}`).sort()).toEqual(['app web1 up', 'app web2 up', 'node web1 up', 'node web2 up', 'prometheus web1 up']);
    const rules = (await api('/api/v1/rules')).data as { groups: { rules: { name: string; health: string }[] }[] };
    // Prometheus lists groups by name (pier-app, pier-hosts, pier-slo).
    expect(rules.groups.flatMap((g) => g.rules.map((r) => r.name)).sort()).toEqual(alertNames(alertGroups()).sort());
    // The exporter reads the host: web2's root filesystem and memory are there.
    const series = await poll('node metrics of web2', async () => {
      const q = (await api(`/api/v1/query?query=${encodeURIComponent('node_memory_MemTotal_bytes{host="web2"}')}`)).data as { result: unknown[] };
      return q.result.length ? q.result : undefined;
    }, { timeoutMs: 15_000, intervalMs: 500 });
    expect(series).toHaveLength(1);
    // web2's exporter listens on its private address only.
    const loop = await exec(['docker', 'exec', fleet.hosts[1]!.container, 'curl', '--silent', '--max-time', '2', 'http://127.0.0.1:9100/metrics'], { nothrow: true });
    expect(loop.code).not.toBe(0);
    const st = await pier('monitoring', 'status', 'production');
    expect(st.code, st.stderr + st.stdout).toBe(0);
    expect(st.stdout).toMatch(/✓ app\s+web2\s+/);
  }, 180_000);

  it('pier monitoring down --volumes removes the containers, the configuration and the data', async () => {
    const down = await pier('monitoring', 'down', 'production', '--volumes');
    expect(down.code, down.stderr + down.stdout).toBe(0);
    for (const h of ['web1', 'web2']) expect((await on(h, 'docker', 'ps', '-a', '--filter', 'label=pier.monitoring', '--format', '{{.Names}}')).trim()).toBe('');
    expect((await on('web1', 'docker', 'volume', 'ls', '--quiet', '--filter', 'name=pier-prometheus-data')).trim()).toBe('');
    expect((await on('web1', 'sh', '-c', 'ls /var/lib/pier/monitoring 2>&1 || true')).trim()).toMatch(/No such file/);
    // The app still serves (monitoring never touches it).
    expect((await on('web1', 'curl', '--silent', '--max-time', '3', 'http://127.0.0.1:80/health'))).toContain('"status":"ok"');
  }, 120_000);
});
