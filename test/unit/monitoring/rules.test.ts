// The production alert rules (pure) and their promtool cases: every alert has a case where it
// fires and one where it stays quiet (promtool itself runs them in test/integration/monitoring.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { alertGroups, alertNames, DEFAULT_THRESHOLDS, renderRules } from '../../../src/monitoring/rules.ts';
import { fixturesDir, repoRoot } from '../../helpers/paths.ts';

interface PromtoolTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const cases = parse(readFileSync(join(fixturesDir, 'monitoring', 'rules.test.yml'), 'utf8')) as PromtoolTests;
const checks = cases.tests.flatMap((t) => t.alert_rule_test ?? []);

describe('production alert rules', () => {
  it('are the production thresholds (CPU, memory, disk, error rate, response time, DB connections) and staging\'s SLO rules', () => {
    expect(alertNames(alertGroups())).toEqual(['HostHighCpu', 'HostHighMemory', 'HostDiskFull', 'AppHighErrorRate', 'AppSlowResponses', 'DatabaseConnectionsHigh', 'ApiHighErrorRate', 'ApiHighLatencyP95', 'ApiAvailabilityLow']);
    expect(DEFAULT_THRESHOLDS).toEqual({ cpuPercent: 80, memoryPercent: 90, diskPercent: 95, errorRatePercent: 1, responseTimeMs: 1000, dbConnections: 50 });
    const expr = Object.fromEntries(alertGroups().flatMap((g) => g.rules.map((r) => [r.alert, r.expr])));
    expect(expr.HostHighCpu).toMatch(/ > 80$/);
    expect(expr.HostHighMemory).toMatch(/ > 90$/);
    expect(expr.HostDiskFull).toMatch(/ > 95$/);
    expect(expr.AppHighErrorRate).toMatch(/ > 1$/);
    expect(expr.AppSlowResponses).toMatch(/ > 1000$/);
    expect(expr.DatabaseConnectionsHigh).toBe('sum(db_pool_connections{job="app"}) > 50');
  });

  it('staging\'s SLO rules are the same expressions as compose/staging/alerts.yml, on the production job', () => {
    const staging = parse(readFileSync(join(repoRoot, 'compose/staging/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string; for: string; labels: Record<string, string> }[] }[] };
    const norm = (s: string) => s.replace(/\s+/g, ' ').replace('( ', '(').trim();
    const prod = alertGroups().find((g) => g.name === 'pier-slo')!.rules;
    for (const s of staging.groups.flatMap((g) => g.rules)) {
      const p = prod.find((r) => r.alert === s.alert);
      expect(p, s.alert).toBeDefined();
      expect(norm(p!.expr)).toBe(norm(s.expr.replaceAll('job="api"', 'job="app"')));
      expect([p!.for, p!.labels]).toEqual([s.for, s.labels]);
    }
  });

  it('thresholds from monitoring.alerts go into the expressions and summaries', () => {
    const t = { ...DEFAULT_THRESHOLDS, cpuPercent: 70, dbConnections: 120, responseTimeMs: 250 };
    const rules = alertGroups(t).flatMap((g) => g.rules);
    const of = (n: string) => rules.find((r) => r.alert === n)!;
    expect(of('HostHighCpu').expr).toMatch(/ > 70$/);
    expect(of('HostHighCpu').annotations.summary).toContain('CPU above 70%');
    expect(of('DatabaseConnectionsHigh').expr).toMatch(/ > 120$/);
    expect(of('AppSlowResponses').expr).toMatch(/ > 250$/);
    expect(parse(renderRules(t)).groups).toEqual(alertGroups(t));
  });

  it('every rule has a promtool case where it fires and one where it stays quiet; every case names a rule', () => {
    expect(cases.rule_files).toEqual(['rules.yml']);
    const names = alertNames(alertGroups());
    for (const n of names) {
      const mine = checks.filter((c) => c.alertname === n);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${n}: no case where it fires`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${n}: no case where it stays quiet`).toBe(true);
    }
    expect(checks.map((c) => c.alertname).filter((n) => !names.includes(n))).toEqual([]);
  });
});
