// Static checks of compose/** (pure file reads): the rules every stack file must keep. The
// stacks themselves are proven by test/integration/env-dev.test.ts and env-staging.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/paths.ts';
import { computeDora, renderPrometheus } from '../../../src/stats/dora.ts';
import { alertGroups, JOBS } from '../../../src/monitoring/rules.ts';

type Service = { image?: string; build?: unknown; ports?: string[]; labels?: Record<string, string>; healthcheck?: { test: string[] }; depends_on?: Record<string, { condition: string }>; profiles?: string[]; volumes?: unknown[] };
type ComposeFile = { services: Record<string, Service>; networks?: Record<string, { labels?: Record<string, string> }>; volumes?: Record<string, { labels?: Record<string, string> }>; include?: unknown[] };

const read = (rel: string) => readFileSync(join(repoRoot, rel), 'utf8');
const yaml = <T>(rel: string) => parse(read(rel), { merge: true }) as T;
const stacks = { dev: yaml<ComposeFile>('compose/dev.yaml'), staging: yaml<ComposeFile>('compose/staging.yaml') };

describe('compose files', () => {
  it('the root compose.yaml only points into compose/', () => {
    const root = yaml<ComposeFile & { name: string }>('compose.yaml');
    expect(Object.keys(root).sort()).toEqual(['include', 'name']);
    expect(root.include).toEqual(['compose/dev.yaml']);
  });

  for (const [name, c] of Object.entries(stacks)) {
    describe(name, () => {
      it('every image is ${PIER_X_IMAGE:-public default} (or built by compose from a build section)', () => {
        for (const [svc, s] of Object.entries(c.services)) {
          if (s.build) continue;
          expect(s.image, `${name}.${svc}`).toMatch(/^\$\{PIER_[A-Z]+_IMAGE:-[a-z0-9][a-z0-9._/-]*:[\w.-]+\}$/);
        }
      });

      it('publishes ports on 127.0.0.1 only', () => {
        for (const [svc, s] of Object.entries(c.services)) for (const p of s.ports ?? []) expect(p, `${name}.${svc}`).toMatch(/^127\.0\.0\.1:/);
      });

      it('labels every service, network and volume with pier.app (env down refuses another app) and pier.run (and pier.pid/pier.host for reaping)', () => {
        const all = [...Object.entries(c.services), ...Object.entries(c.networks ?? {}), ...Object.entries(c.volumes ?? {})];
        expect(c.networks?.default).toBeDefined();
        for (const [key, v] of all) expect(Object.keys(v.labels ?? {}).sort(), `${name}: ${key}`).toEqual(['pier.app', 'pier.host', 'pier.pid', 'pier.run']);
      });

      it('every service has a healthcheck and waits for its dependencies to be healthy', () => {
        for (const [svc, s] of Object.entries(c.services)) {
          expect(s.healthcheck?.test.length, `${name}.${svc}`).toBeGreaterThan(0);
          for (const [dep, d] of Object.entries(s.depends_on ?? {})) expect(d.condition, `${name}.${svc} -> ${dep}`).toBe('service_healthy');
        }
      });

      it('keeps PostgreSQL and Redis data in named volumes', () => {
        for (const svc of ['postgres', 'redis']) {
          const named = (c.services[svc]!.volumes as string[]).map((v) => v.split(':')[0]!);
          for (const v of named) expect(Object.keys(c.volumes ?? {}), `${name}.${svc}`).toContain(v);
        }
      });
    });
  }

  it('dev: the app reloads from bind-mounted source and migrates before serving', () => {
    const api = stacks.dev.services.api as Service & { command: string[]; environment: Record<string, string> };
    expect(api.command).toEqual(['node', '/pier/watch.mjs', 'src', 'migrations', '--', 'node', 'src/server.js']);
    expect(api.volumes).toContainEqual(expect.objectContaining({ type: 'bind', source: './dev/watch.mjs', target: '/pier/watch.mjs' }));
    expect(api.environment.MIGRATE_ON_START).toBe('1');
    expect(api.volumes).toContainEqual(expect.objectContaining({ type: 'bind', target: '/app/src', source: '${PIER_API_SRC:-../examples/api/src}' }));
    expect(api.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
  });

  it('staging: the production image, and nginx is the only published port (grafana aside, opt-in)', () => {
    const s = stacks.staging.services;
    expect(s.app!.image).toBe('${PIER_APP_IMAGE:-pier/example-api:latest}');
    expect(s.app!.build).toBeUndefined();
    const published = Object.entries(s).filter(([, v]) => v.ports?.length && !v.profiles?.includes('grafana')).map(([k]) => k);
    expect(published).toEqual(['nginx']);
    expect(s.grafana!.profiles).toEqual(['grafana']);
  });

  it('nginx proxies to the app service', () => {
    const conf = read('compose/staging/nginx.conf');
    expect(conf).toMatch(/server app:3000;/);
    expect(conf).toMatch(/proxy_pass http:\/\/app;/);
  });
});

describe('prometheus', () => {
  it('scrapes the app and loads the rule files', () => {
    const p = yaml<{ rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>('compose/staging/prometheus.yml');
    expect(p.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    expect(p.scrape_configs.find((j) => j.job_name === 'api')!.static_configs[0]!.targets).toEqual(['app:3000']);
  });

  it('has the three SLO alerts with the issue thresholds and windows', () => {
    const rules = yaml<{ groups: { rules: { alert: string; expr: string; for: string }[] }[] }>('compose/staging/alerts.yml').groups.flatMap((g) => g.rules);
    const by = Object.fromEntries(rules.map((r) => [r.alert, r]));
    expect(Object.keys(by).sort()).toEqual(['ApiAvailabilityLow', 'ApiHighErrorRate', 'ApiHighLatencyP95']);
    expect(by.ApiHighErrorRate!.for).toBe('2m');
    expect(by.ApiHighErrorRate!.expr).toMatch(/status=~"5\.\."[\s\S]*> 0\.05\s*$/);
    expect(by.ApiHighLatencyP95!.for).toBe('5m');
    expect(by.ApiHighLatencyP95!.expr).toMatch(/histogram_quantile\(0\.95,[\s\S]*http_request_duration_seconds_bucket[\s\S]*> 0\.5\s*$/);
    expect(by.ApiAvailabilityLow!.for).toBe('1m');
    expect(by.ApiAvailabilityLow!.expr).toMatch(/up\{job="api"\}[\s\S]*< 0\.95\s*$/);
  });
});

describe('grafana provisioning (not runnable here: validated as files)', () => {
  const dir = 'compose/staging/grafana';
  const ds = yaml<{ apiVersion: number; datasources: { uid: string; type: string; url: string }[] }>(`${dir}/provisioning/datasources/prometheus.yml`);
  const providers = yaml<{ apiVersion: number; providers: { type: string; options: { path: string } }[] }>(`${dir}/provisioning/dashboards/dashboards.yml`);

  it('datasource points at the staging Prometheus', () => {
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' })]);
  });

  it('dashboard provider reads the directory compose mounts the dashboards into', () => {
    const grafana = stacks.staging.services.grafana!;
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers[0]!.type).toBe('file');
    expect(grafana.volumes).toContain(`./staging/grafana/dashboards:${providers.providers[0]!.options.path}:ro`);
  });

  it('every dashboard is JSON whose panels query the app metrics through that datasource', () => {
    const files = readdirSync(join(repoRoot, dir, 'dashboards')).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const d = JSON.parse(read(`${dir}/dashboards/${f}`)) as { uid: string; title: string; panels: { id: number; datasource: { uid: string }; targets: { expr: string }[] }[] };
      expect(d.uid && d.title, f).toBeTruthy();
      expect(new Set(d.panels.map((p) => p.id)).size, `${f}: unique panel ids`).toBe(d.panels.length);
      for (const p of d.panels) {
        expect(p.datasource.uid).toBe(ds.datasources[0]!.uid);
        for (const t of p.targets) expect(t.expr).toMatch(/http_requests_total|http_request_duration_seconds_bucket|up\{job="api"\}|pier_[a-z_]+/);
      }
    }
  });

  it('the delivery panel queries only metrics pier stats --format prometheus writes', () => {
    const d = JSON.parse(read(`${dir}/dashboards/api-slo.json`)) as { panels: { title: string; targets: { expr: string }[] }[] };
    const panel = d.panels.find((p) => p.title.startsWith('Delivery (DORA'))!;
    const stats = computeDora('staging', [{ host: 'h', releases: [], audit: [] }], new Map(), { since: 0, until: 86_400_000 });
    // Every metric, with figures present, so every name is written.
    const full = { ...stats, leadTimeSeconds: { count: 1, p50: 1, p90: 1, max: 1, unknownCommit: 0 }, timeToRestoreSeconds: { count: 1, p50: 1, p90: 1, max: 1 }, changeFailure: { ...stats.changeFailure, rate: 0 } };
    const written = new Set([...renderPrometheus(full, 'api').matchAll(/^(pier_[a-z_]+)\{/gm)].map((m) => m[1]));
    const queried = panel.targets.flatMap((t) => [...t.expr.matchAll(/pier_[a-z_]+/g)].map((m) => m[0]));
    expect(queried).toHaveLength(4);
    for (const q of queried) expect(written, q).toContain(q);
  });

  it('the delivery panel says it stays empty while staging\'s Prometheus scrapes no textfile collector', () => {
    const d = JSON.parse(read(`${dir}/dashboards/api-slo.json`)) as { panels: { title: string; description?: string }[] };
    const panel = d.panels.find((p) => p.title.startsWith('Delivery (DORA'))!;
    const prom = yaml<{ scrape_configs: { job_name: string }[] }>('compose/staging/prometheus.yml');
    // No node-exporter job: nothing can carry pier stats' textfile into this Prometheus.
    expect(prom.scrape_configs.map((j) => j.job_name)).toEqual(['api', 'prometheus']);
    expect(panel.description).toMatch(/Empty in this staging stack as shipped: .*no node-exporter with a textfile collector/);
  });
});

describe('production monitoring grafana files (pier monitoring; validated as files)', () => {
  const dir = 'compose/production/grafana';
  const ds = yaml<{ apiVersion: number; datasources: { uid: string; type: string; url: string }[] }>(`${dir}/provisioning/datasources/prometheus.yml`);
  const providers = yaml<{ apiVersion: number; providers: { type: string; options: { path: string } }[] }>(`${dir}/provisioning/dashboards/dashboards.yml`);
  type Panel = { id: number; title: string; datasource: { uid: string }; targets: { expr: string }[]; fieldConfig?: { defaults: { thresholds?: { steps: { value: number | null }[] } } } };
  const files = readdirSync(join(repoRoot, dir, 'dashboards')).filter((f) => f.endsWith('.json'));
  const dashboards = files.map((f) => [f, JSON.parse(read(`${dir}/dashboards/${f}`)) as { uid: string; title: string; panels: Panel[] }] as const);

  it('a Prometheus datasource and a file provider, as staging\'s', () => {
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toEqual([expect.objectContaining({ uid: 'prometheus', type: 'prometheus' })]);
    expect(providers.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
  });

  it('every dashboard is JSON whose panels query only what the monitoring set scrapes, through that datasource', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const [f, d] of dashboards) {
      expect(d.uid && d.title, f).toBeTruthy();
      expect(new Set(d.panels.map((p) => p.id)).size, `${f}: unique panel ids`).toBe(d.panels.length);
      for (const p of d.panels) {
        expect(p.datasource.uid).toBe(ds.datasources[0]!.uid);
        for (const t of p.targets) {
          // Jobs of src/monitoring/prometheus-config.ts; metrics of the node exporter and the app.
          for (const job of t.expr.matchAll(/job=~?"([^"]+)"/g)) for (const j of job[1]!.split('|')) expect(Object.values(JOBS), `${f} ${p.title}`).toContain(j);
          expect(t.expr).toMatch(/node_(cpu_seconds_total|memory_Mem\w+|filesystem_\w+)|http_requests_total|http_request_duration_seconds_bucket|db_pool_connections|up\{/);
        }
      }
    }
  });

  it('the threshold panels use the alert rules\' default thresholds and expressions', () => {
    const [, d] = dashboards.find(([f]) => f === 'pier-production.json')!;
    const rules = alertGroups().flatMap((g) => g.rules).filter((r) => r.labels.threshold);
    expect(rules).toHaveLength(6);
    for (const r of rules) {
      const [expr, limit] = r.expr.split(/ > (?=[\d.]+$)/) as [string, string];
      const panel = d.panels.find((p) => p.targets.some((t) => t.expr === expr.replace(/avg by \(instance, host\)/, 'avg by (host)')));
      expect(panel, r.alert).toBeDefined();
      expect(panel!.fieldConfig!.defaults.thresholds!.steps.at(-1)!.value, r.alert).toBe(Number(limit));
    }
  });
});
