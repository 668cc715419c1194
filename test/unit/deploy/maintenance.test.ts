import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultMaintenancePage, maintenanceFiles, maintenanceOff, maintenanceOn, parseMaintenanceConf, renderMaintenanceConf } from '../../../src/deploy/commands/maintenance.ts';
import { MAINTENANCE_INCLUDE, renderProxyConf } from '../../../src/deploy/commands/nginx.ts';
import { maintenancePage } from '../../../src/deploy/maintenance.ts';
import type { DeployTarget } from '../../../src/deploy/target.ts';
import { ConfigError } from '../../../src/util/errors.ts';

const rec = { since: '2026-12-01T14:00:00.000Z', by: 'ann@laptop', retryAfterSeconds: 120, page: 'maintenance.html' };

describe('maintenance snippet (pure)', () => {
  it('503 for every path but health, the ACME challenge and its own page; the page with Retry-After, not logged', () => {
    const conf = renderMaintenanceConf('/health', rec);
    expect(conf).toContain('if ($uri !~ "^(/health|/\\.well-known/acme-challenge/.*|/pier-maintenance\\.html)$") {\n    return 503;\n}');
    expect(conf).toContain('error_page 503 /pier-maintenance.html;');
    expect(conf).toContain('add_header Retry-After 120 always;');
    expect(conf).toContain('    internal;\n    root /etc/nginx/conf.d/maintenance;\n    access_log off;');
    // The same regex nginx applies (PCRE, here JavaScript's: no construct differs).
    const re = new RegExp(/"(\^.*\$)"/.exec(conf)![1]!);
    for (const p of ['/health', '/.well-known/acme-challenge/abc', '/pier-maintenance.html']) expect(re.test(p), p).toBe(true);
    for (const p of ['/', '/items', '/health/deep', '/healthz', '/xhealth', '/.well-known/other']) expect(re.test(p), p).toBe(false);
  });

  it('escapes a health path\'s regex characters; refuses what nginx could not take', () => {
    const re = new RegExp(/"(\^.*\$)"/.exec(renderMaintenanceConf('/_status.json', rec))![1]!);
    expect(re.test('/_status.json')).toBe(true);
    expect(re.test('/_statusXjson')).toBe(false);
    expect(() => renderMaintenanceConf('/a b', rec)).toThrow(/cannot be exempted/);
    expect(() => renderMaintenanceConf('/a"b', rec)).toThrow(/cannot be exempted/);
    expect(() => renderMaintenanceConf('/h', { ...rec, retryAfterSeconds: 0 })).toThrow(/positive integer/);
  });

  it('its record reads back; no file is off, a foreign file is on with unknown details', () => {
    expect(parseMaintenanceConf(renderMaintenanceConf('/health', rec))).toEqual(rec);
    expect(parseMaintenanceConf('')).toBeUndefined();
    expect(parseMaintenanceConf('return 503;\n')).toEqual({ since: '?', by: '?', retryAfterSeconds: 0, page: '?' });
  });

  it('a record missing some fields keeps the others; each missing one is unknown', () => {
    expect(parseMaintenanceConf('# pier-maintenance {"since":"2026-12-01T10:00:00Z"}\nreturn 503;\n')).toEqual({ since: '2026-12-01T10:00:00Z', by: '?', retryAfterSeconds: 0, page: '?' });
    expect(parseMaintenanceConf('# pier-maintenance {"by":"ops@laptop","retryAfterSeconds":120,"page":"custom"}\n')).toEqual({ since: '?', by: 'ops@laptop', retryAfterSeconds: 120, page: 'custom' });
    expect(parseMaintenanceConf('# pier-maintenance {not json\n')).toEqual({ since: '?', by: '?', retryAfterSeconds: 0, page: '?' });
  });

  it('the proxy config always includes the switch (a glob: nothing to include while off)', () => {
    expect(renderProxyConf({ upstreams: [{ address: 'a:3000', release: 'v1' }] })).toContain(`    include ${MAINTENANCE_INCLUDE};\n    location / {`);
    expect(maintenanceFiles('/var/lib/pier/nginx/')).toEqual({ dir: '/var/lib/pier/nginx/maintenance', conf: '/var/lib/pier/nginx/maintenance/on.conf', page: '/var/lib/pier/nginx/maintenance/pier-maintenance.html' });
    // MAINTENANCE_INCLUDE is where the host's nginx dir is mounted in the proxy.
    expect(MAINTENANCE_INCLUDE).toBe('/etc/nginx/conf.d/maintenance/*.conf');
  });

  it('on/off are fixed scripts with values as parameters; on undoes itself when nginx refuses', () => {
    const on = maintenanceOn('/var/lib/pier/nginx', 'CONF $(rm -rf /)');
    expect(on.slice(0, 2)).toEqual(['sh', '-c']);
    expect(on[2]).not.toContain('rm -rf /)');
    expect(on.slice(-5)).toEqual(['/var/lib/pier/nginx/maintenance', '/var/lib/pier/nginx/maintenance/pier-maintenance.html', '/var/lib/pier/nginx/maintenance/on.conf', 'CONF $(rm -rf /)', 'pier-proxy']);
    expect(on[2]).toMatch(/\|\| \{ rm -f "\$3";/);
    expect(maintenanceOff('/d/nginx').slice(-2)).toEqual(['/d/nginx/maintenance/on.conf', 'pier-proxy']);
  });

  it('the default page names the app (escaped) and the wait', () => {
    const page = defaultMaintenancePage('<api>', 300);
    expect(page).toContain('&#60;api&#62; is being updated. Please try again in about 5 minutes.');
    expect(defaultMaintenancePage('api', 30)).toContain('about 1 minute.');
  });
});

describe('maintenance page choice', () => {
  const root = mkdtempSync(join(tmpdir(), 'pier-maint-'));
  writeFileSync(join(root, 'page.html'), '<p>custom</p>');
  const target = (maintenance?: { page?: string; retryAfterSeconds: number }) => ({ app: 'api', envName: 'production', root, config: { env: { maintenance } } }) as unknown as DeployTarget;

  it('flag over config over default', () => {
    expect(maintenancePage(target(), {})).toMatchObject({ source: 'default', retryAfterSeconds: 300 });
    expect(maintenancePage(target({ page: 'page.html', retryAfterSeconds: 60 }), {})).toEqual({ html: '<p>custom</p>', source: 'page.html', retryAfterSeconds: 60 });
    expect(maintenancePage(target({ page: 'missing.html', retryAfterSeconds: 60 }), { page: 'page.html', retryAfterSeconds: 5 })).toMatchObject({ source: 'page.html', retryAfterSeconds: 5 });
  });

  it('a missing page file is a config error naming the key (or the flag)', () => {
    const e = (() => { try { maintenancePage(target({ page: 'missing.html', retryAfterSeconds: 60 }), {}); } catch (x) { return x as ConfigError; } })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e!.message).toMatch(/environments\/production\.yaml.*maintenance\.page.*no such file: missing\.html/s);
    expect(() => maintenancePage(target(), { page: 'nope.html' })).toThrow(/--page.*no such file: nope\.html/s);
  });
});
