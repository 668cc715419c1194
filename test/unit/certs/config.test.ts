import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.ts';
import { ConfigError, type ConfigIssue } from '../../../src/util/errors.ts';

const pier = 'app:\n  name: demo\n  image: acme/demo\n  port: 3000\n  test:\n    command: [npm, test]\n';

function load(envYaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'pier-tls-config-'));
  writeFileSync(join(dir, 'pier.yaml'), pier);
  mkdirSync(join(dir, 'environments'));
  writeFileSync(join(dir, 'environments', 'production.yaml'), envYaml);
  return loadConfig({ cwd: dir, env: 'production', vars: {} });
}

function issues(envYaml: string): ConfigIssue[] {
  try {
    load(envYaml);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('proxy.tls configuration', () => {
  it('acme: Let\'s Encrypt by default, port 443, no HSTS unless set', () => {
    const tls = load('proxy:\n  tls:\n    hosts: [example.com, www.example.com]\n    acme:\n      email: ops@example.com\n').env!.proxy.tls!;
    expect(tls).toEqual({ hosts: ['example.com', 'www.example.com'], acme: { email: 'ops@example.com', directory: 'https://acme-v02.api.letsencrypt.org/directory' }, port: 443 });
    expect(load('proxy:\n  tls:\n    hosts: [example.com]\n    certificate: {cert: c.pem, key: k.pem}\n    hsts: {}\n').env!.proxy.tls!.hsts).toEqual({ maxAgeSeconds: 31536000, includeSubDomains: false });
    expect(load('hosts: []\n').env!.proxy.tls).toBeUndefined();
  });

  it('neither or both of certificate and acme: one error naming proxy.tls', () => {
    for (const body of ['    hosts: [example.com]\n', '    hosts: [example.com]\n    certificate: {cert: c, key: k}\n    acme: {email: a@b.co}\n']) {
      expect(issues(`proxy:\n  tls:\n${body}`)).toEqual([expect.objectContaining({ file: 'environments/production.yaml', path: 'proxy.tls', message: expect.stringContaining('exactly one of certificate: {cert, key} or acme: {email, directory}') })]);
    }
  });

  it('bad names, a missing key file, a bad email, an http directory: each names its key and line', () => {
    const found = issues('proxy:\n  tls:\n    hosts: [example.com, "https://x.com", example.com]\n    acme:\n      email: not-an-email\n      directory: http://acme.example/dir\n');
    expect(found).toContainEqual(expect.objectContaining({ path: 'proxy.tls.hosts[1]', message: expect.stringContaining('a DNS name such as example.com') }));
    expect(found).toContainEqual(expect.objectContaining({ path: 'proxy.tls.hosts[2]', message: 'duplicate name example.com' }));
    expect(found).toContainEqual(expect.objectContaining({ path: 'proxy.tls.acme.email', line: 5 }));
    expect(found).toContainEqual(expect.objectContaining({ path: 'proxy.tls.acme.directory', message: expect.stringContaining('https:// ACME v2 directory URL') }));
    expect(issues('proxy:\n  tls:\n    hosts: [example.com]\n    certificate: {cert: c.pem}\n')).toContainEqual(expect.objectContaining({ path: 'proxy.tls.certificate.key' }));
    expect(issues('proxy:\n  tls:\n    hosts: []\n    acme: {email: a@b.co}\n')).toContainEqual(expect.objectContaining({ path: 'proxy.tls.hosts' }));
    expect(issues('proxy:\n  tsl: {}\n')).toContainEqual(expect.objectContaining({ path: 'proxy.tsl', message: expect.stringContaining('did you mean "tls"') }));
  });
});
