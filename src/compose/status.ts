/**
 * What `docker compose ps --format json` says, turned into per-service states, a readiness
 * verdict and a table. Pure: the stack feeds it command output.
 */

export interface ServiceState {
  service: string;
  container: string;
  /** created | running | restarting | exited | paused | dead | removing */
  state: string;
  /** healthy | starting | unhealthy | '' (no healthcheck) */
  health: string;
  exitCode: number;
  /** Published ports, e.g. `127.0.0.1:49153->80/tcp`; empty when none. */
  ports: string;
}

interface PsRow {
  Service?: string;
  Name?: string;
  State?: string;
  Health?: string;
  ExitCode?: number;
  Publishers?: { URL?: string; TargetPort?: number; PublishedPort?: number; Protocol?: string }[] | null;
}

/** Compose >= 2.21 prints one JSON object a line; older versions one JSON array. Both parse. */
export function parsePs(stdout: string): ServiceState[] {
  const text = stdout.trim();
  if (!text) return [];
  const rows: PsRow[] = text.startsWith('[') ? (JSON.parse(text) as PsRow[]) : text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as PsRow);
  return rows
    .map((r) => ({
      service: r.Service ?? '',
      container: r.Name ?? '',
      state: r.State ?? '',
      health: r.Health ?? '',
      exitCode: r.ExitCode ?? 0,
      ports: [...new Set((r.Publishers ?? []).filter((p) => p.PublishedPort).map((p) => `${p.URL}:${p.PublishedPort}->${p.TargetPort}/${p.Protocol}`))].join(', '),
    }))
    .sort((a, b) => a.service.localeCompare(b.service) || a.container.localeCompare(b.container));
}

export type Verdict =
  | { kind: 'ready' }
  | { kind: 'waiting'; pending: string[] }
  | { kind: 'failed'; service: string; reason: string };

/** One service's contribution: ok, still coming up, or failed for good. */
function judge(s: ServiceState | undefined): 'ok' | 'pending' | string {
  if (!s) return 'pending'; // not created yet (compose still waiting on a dependency)
  if (s.state === 'running') {
    if (s.health === 'unhealthy') return 'is unhealthy';
    return s.health === 'starting' ? 'pending' : 'ok';
  }
  if (s.state === 'exited' || s.state === 'dead') return s.exitCode === 0 ? 'ok' : `exited with code ${s.exitCode}`;
  // Dependencies are healthy before a service starts, so a crash is not a start-up race.
  // (compose ps reports ExitCode 0 while restarting, so no code is claimed here.)
  if (s.state === 'restarting') return 'is crash-looping (exits and is restarted)';
  return 'pending'; // created, paused: may still come good before the deadline
}

/**
 * Readiness of `expected` services: ready when each runs healthy (or without a healthcheck) or
 * completed with exit 0 (one-shot jobs); failed as soon as one is unhealthy, exited non-zero or
 * restarting after a crash.
 */
export function assess(expected: string[], states: ServiceState[]): Verdict {
  const pending: string[] = [];
  for (const service of expected) {
    const verdict = judge(states.find((s) => s.service === service));
    if (verdict === 'ok') continue;
    if (verdict === 'pending') pending.push(service);
    else return { kind: 'failed', service, reason: verdict };
  }
  return pending.length ? { kind: 'waiting', pending } : { kind: 'ready' };
}

/** Why a still-pending service is not ready, for the timeout message. */
export function describeState(s: ServiceState | undefined): string {
  if (!s) return 'not created (a dependency never became healthy)';
  return s.health ? `${s.state}, ${s.health}` : s.state;
}

/** A fixed-width table: SERVICE STATE HEALTH PORTS. */
export function formatTable(states: ServiceState[]): string {
  const rows = [['SERVICE', 'STATE', 'HEALTH', 'PORTS'], ...states.map((s) => [s.service, s.state, s.health || '-', s.ports || '-'])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
