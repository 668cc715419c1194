import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { resolveTarget } from '../../../src/deploy/target.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { redact } from '../../../src/util/redact.ts';

function project(envYaml: string, files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'pier-target-'));
  mkdirSync(join(root, 'environments'));
  writeFileSync(join(root, 'pier.yaml'), 'app:\n  name: api\n  image: acme/api\n  port: 3000\n  test:\n    command: [npm, test]\n  migrate:\n    command: [node, migrate.js]\n');
  writeFileSync(join(root, 'environments', 'production.yaml'), envYaml);
  for (const [f, c] of Object.entries(files)) writeFileSync(join(root, f), c);
  return join(root, 'pier.yaml');
}
const load = (file: string) => loadConfig({ configFile: file, env: 'production', vars: {} });

describe('deploy target', () => {
  it('resolves hosts, key, jump host, registry and the env file (its values registered as secrets)', () => {
    const file = project(
      [
        'envFile: environments/production.env',
        'hosts:',
        '  - { name: web1, address: 10.0.0.1, hostKey: "SHA256:FrgFg317t/Ya/PTi2qHC1eHwH5S5L4eQ48wuhgZ4L7A" }',
        'ssh: { keyFile: id_test, jumpHost: "ops@bastion.example:2222", jumpHostKey: "SHA256:Ump8YFZ4bm8h2p3Jl4OwAE/Xq+4XidupugYVcVF+5yc" }',
        'deploy: { registry: "reg.example:5000" }',
      ].join('\n'),
      { 'id_test': 'KEY', 'environments/production.env': 'DATABASE_URL=postgres://api:hunter2-secret@db:5432/api\n' },
    );
    const t = resolveTarget(load(file), { by: 'me@here' });
    expect(t.hosts).toEqual([{ name: 'web1', address: '10.0.0.1', port: 22, user: 'root', hostKey: 'SHA256:FrgFg317t/Ya/PTi2qHC1eHwH5S5L4eQ48wuhgZ4L7A' }]);
    expect(t.auth.jump).toEqual({ name: 'jump(bastion.example)', user: 'ops', address: 'bastion.example', port: 2222, hostKey: 'SHA256:Ump8YFZ4bm8h2p3Jl4OwAE/Xq+4XidupugYVcVF+5yc' });
    expect(t.auth.privateKey?.toString()).toBe('KEY');
    expect(t.registry).toBe('reg.example:5000');
    expect(t.migrate).toEqual(['node', 'migrate.js']);
    expect(redact('url postgres://api:hunter2-secret@db:5432/api and hunter2-secret')).not.toContain('hunter2-secret');
  });
  it('names the file and key when the env file is missing', () => {
    const file = project('envFile: environments/production.env\nhosts:\n  - { name: web1, address: 10.0.0.1 }\n');
    expect(() => resolveTarget(load(file))).toThrow(ConfigError);
    expect(() => resolveTarget(load(file))).toThrow(/environments\/production\.yaml: envFile: environments\/production\.env does not exist/);
  });
  it('refuses an environment without hosts and a malformed jump host', () => {
    expect(() => resolveTarget(load(project('hosts: []\n')))).toThrow(/hosts: expected at least one host/);
    expect(() => resolveTarget(load(project('hosts:\n  - { name: a, address: b }\nssh: { jumpHost: "a@b:c:d" }\n')))).toThrow(/ssh.jumpHost: expected user@host\[:port\]/);
  });
  it('rejects a badly formed pinned fingerprint with its location', () => {
    expect(() => load(project('hosts:\n  - { name: a, address: b, hostKey: "md5:xx" }\n'))).toThrow(/production\.yaml:2:\d+: hosts\[0\]\.hostKey/);
  });
});
