/**
 * Maintenance mode as data: the nginx snippet the per-host proxy includes while maintenance is on
 * (every request but the health path and the ACME challenge answered 503 with the page and
 * Retry-After), the default page, and the host-side on/off steps. Pure.
 */
import { NGINX_TEST_AND_RELOAD } from './docker.ts';
import { PROXY_CONTAINER } from './layout.ts';
import { shScript } from './shell.ts';

/** Where the page is served from inside the proxy (an internal location, never proxied). */
export const MAINTENANCE_PAGE_URI = '/pier-maintenance.html';
export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const RECORD_PREFIX = '# pier-maintenance ';

/** Who turned maintenance on and when, kept as a comment in the snippet (the host's record). */
export interface MaintenanceRecord {
  since: string;
  by: string;
  retryAfterSeconds: number;
  /** The page's source: a repository file or "default". */
  page: string;
}

/** The maintenance files under pier's nginx directory on a host. */
export function maintenanceFiles(nginxDir: string): { dir: string; conf: string; page: string } {
  const dir = `${nginxDir.replace(/\/+$/, '')}/maintenance`;
  return { dir, conf: `${dir}/on.conf`, page: `${dir}${MAINTENANCE_PAGE_URI}` };
}

const regexEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The server-level snippet: requests outside the exempt paths get 503 (server rewrite phase, so no
 * upstream is chosen or logged as the release's error); the 503 is answered with the page and
 * Retry-After from an internal location that is not logged (the bake and guard judge releases by
 * their 5xx). Exempt: the app's health path (probes and load balancers keep working) and the ACME
 * HTTP-01 challenge path (certificates can still be issued).
 */
export function renderMaintenanceConf(healthPath: string, rec: MaintenanceRecord): string {
  if (!/^\/[^\s"'{};\\]*$/.test(healthPath)) throw new Error(`maintenance: health path ${JSON.stringify(healthPath)} cannot be exempted (quotes, spaces, braces or ; in it)`);
  if (!Number.isInteger(rec.retryAfterSeconds) || rec.retryAfterSeconds < 1) throw new Error('maintenance: retryAfterSeconds must be a positive integer');
  const exempt = `^(${regexEscape(healthPath)}|${regexEscape(ACME_CHALLENGE_PREFIX)}.*|${regexEscape(MAINTENANCE_PAGE_URI)})$`;
  return [
    '# Managed by pier maintenance: removed by pier maintenance off.',
    `${RECORD_PREFIX}${JSON.stringify(rec)}`,
    `if ($uri !~ "${exempt}") {`,
    '    return 503;',
    '}',
    `error_page 503 ${MAINTENANCE_PAGE_URI};`,
    `location = ${MAINTENANCE_PAGE_URI} {`,
    '    internal;',
    '    root /etc/nginx/conf.d/maintenance;',
    '    access_log off;',
    `    add_header Retry-After ${rec.retryAfterSeconds} always;`,
    '    add_header Cache-Control "no-store" always;',
    '}',
    '',
  ].join('\n');
}

/** The record in a snippet read back from a host; undefined when maintenance is off (no file). */
export function parseMaintenanceConf(text: string): MaintenanceRecord | undefined {
  const line = text.split('\n').find((l) => l.startsWith(RECORD_PREFIX));
  if (!line) return text.trim() ? { since: '?', by: '?', retryAfterSeconds: 0, page: '?' } : undefined;
  try {
    const v = JSON.parse(line.slice(RECORD_PREFIX.length)) as Partial<MaintenanceRecord>;
    return { since: String(v.since ?? '?'), by: String(v.by ?? '?'), retryAfterSeconds: Number(v.retryAfterSeconds ?? 0), page: String(v.page ?? '?') };
  } catch {
    return { since: '?', by: '?', retryAfterSeconds: 0, page: '?' };
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page shown when the repository has none (pure). */
export function defaultMaintenancePage(app: string, retryAfterSeconds: number): string {
  const minutes = Math.max(1, Math.round(retryAfterSeconds / 60));
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Down for maintenance</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.6rem}</style></head>
<body><h1>Down for maintenance</h1><p>${escapeHtml(app)} is being updated. Please try again in about ${minutes} minute${minutes === 1 ? '' : 's'}.</p></body>
</html>
`;
}

/**
 * Turn maintenance on on one host: the page (stdin) and the snippet ($2) written atomically, then
 * nginx checks and reloads; when nginx rejects it the snippet is removed again (exit 1).
 */
export function maintenanceOn(nginxDir: string, conf: string, proxy = PROXY_CONTAINER): string[] {
  const f = maintenanceFiles(nginxDir);
  return shScript(
    `mkdir -p "$1" && chmod 0755 "$1" && cat > "$2.tmp" && chmod 0644 "$2.tmp" && mv "$2.tmp" "$2" && printf '%s' "$4" > "$3.tmp" && chmod 0644 "$3.tmp" && mv "$3.tmp" "$3" && docker exec "$5" sh -c '${NGINX_TEST_AND_RELOAD}' || { rm -f "$3"; docker exec "$5" nginx -s reload >/dev/null 2>&1; exit 1; }`,
    f.dir, f.page, f.conf, conf, proxy,
  );
}

/** Turn maintenance off on one host: snippet removed, nginx reloaded gracefully (in-flight requests finish). */
export function maintenanceOff(nginxDir: string, proxy = PROXY_CONTAINER): string[] {
  const f = maintenanceFiles(nginxDir);
  return shScript(`rm -f "$1" && docker exec "$2" sh -c '${NGINX_TEST_AND_RELOAD}'`, f.conf, proxy);
}
