/**
 * Secrets on 3 simulated hosts, through the `pier` CLI as a user runs it (one fleet, steps in
 * order): an encrypted env file (key in .env.keys) plus a secret from a manager command; a
 * rotation (`pier secrets set`, then `pier deploy --env-only`) under load with zero failed
 * requests and no new image; a failing release whose log prints every secret, with `--json`; a
 * wrong key. Then every byte pier wrote (stdout, stderr, --json, report.json files, the hosts'
 * audit logs and env directories, the image via `docker save`) is searched for each canary in
 * every encoded form: zero hits.
 */
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { newKeypair } from '../../src/secrets/dotenvx.ts';
import { setEncrypted, writePrivateKey } from '../../src/secrets/encrypted-env.ts';
import { secretForms } from '../../src/util/redact.ts';
import { exec } from '../../src/util/exec.ts';
import { poll } from '../../src/util/poll.ts';
import { buildTestApp, writeProject, type Fleet } from '../helpers/fleet.ts';
import { startLoad } from '../helpers/load.ts';
import { runPier, type PierResult } from '../helpers/pier.ts';
import { useFleet } from '../helpers/use-fleet.ts';

const tag = Date.now().toString(36);
const canary = {
  dbUrlPassword: `Cn@ry/pw-${tag}`, // in DATABASE_URL, URL-encoded
  apiToken: `tok-canary-${tag}-A1`, // encrypted env file
  apiTokenRotated: `tok-rotated-${tag}-B2`, // set by pier secrets set, rolled out with --env-only
  dbPassword: `mgr-canary-${tag}-C3`, // from the manager command
  sessionSeed: `seed-canary-${tag}-D4`, // declared under secrets:, plaintext line in the file
  registryPassword: `reg-canary-${tag}-E5`, // pipeline.registry.passwordEnv, in every run's environment
};
// Every pier run here has the registry password in its environment, as CI would.
const runEnv = { DOTENV_PRIVATE_KEY_PRODUCTION: '', PIER_REGISTRY_PASSWORD: canary.registryPassword };

let fleet: Fleet;
let root: string;
const outputs: { what: string; text: string }[] = [];

/** `input` is stdin, for `pier secrets set` (the value never on the command line). */
async function pier(args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<PierResult> {
  const r = await runPier(args, { cwd: root, env: { ...runEnv, ...o.env }, input: o.input, timeoutMs: 300_000 });
  outputs.push({ what: `pier ${args.join(' ')}: stdout`, text: r.stdout }, { what: `pier ${args.join(' ')}: stderr`, text: r.stderr });
  return r;
}

/** Env of the container serving on each host (test plumbing inside the host, not pier output). */
async function servingEnv(): Promise<{ env: Record<string, string>; image: string }[]> {
  return Promise.all(fleet.hosts.map(async (h) => {
    // The release left drains and is stopped by the host-side timer after the deploy returns
    // (drainSeconds 1): looked at until it is gone (bounded), then exactly one runs.
    const running = () => fleet.hostExec(h.name, ['docker', 'ps', '--filter', 'label=pier.app=deploy-app', '--filter', 'status=running', '--format', '{{.ID}}']).then((o) => o.trim().split('\n'));
    await poll(`one running release on ${h.name}`, async () => ((await running()).length === 1 ? true : undefined), { timeoutMs: 20_000, intervalMs: 250 }).catch(() => undefined);
    const id = await running();
    expect(id, `one running release on ${h.name}`).toHaveLength(1);
    const [c] = JSON.parse(await fleet.hostExec(h.name, ['docker', 'inspect', id[0]!])) as { Config: { Env: string[] }; Image: string }[];
    return { env: Object.fromEntries(c!.Config.Env.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])), image: c!.Image };
  }));
}

useFleet({ count: 3, alongside: () => [buildTestApp('pier-test/deploy-app:good'), buildTestApp('pier-test/deploy-app:never', { neverHealthy: true })] }, async (f) => {
  fleet = f;
  await Promise.all([fleet.push('pier-test/deploy-app:good', 'pier-test/deploy-app:s1'), fleet.push('pier-test/deploy-app:never', 'pier-test/deploy-app:s2')]);
  // rollbackWindowSeconds 0: the release left is stopped once drained, so exactly one runs (servingEnv).
  const config = writeProject(fleet, { bakeSeconds: 2, drainSeconds: 1, healthTimeoutSeconds: 12, deploy: { rollbackWindowSeconds: 0 } });
  root = join(config, '..');
  // The manager: a stand-in `op` that prints the value for one reference (argv, no shell).
  const op = join(root, 'op');
  writeFileSync(op, `#!/bin/sh\n[ "$1" = read ] && [ "$2" = "op://prod/db/password" ] && { echo '${canary.dbPassword}'; exit 0; }\necho "no such item" >&2; exit 1\n`);
  chmodSync(op, 0o755);
  const pierYaml = parse(readFileSync(config, 'utf8'));
  writeFileSync(config, stringify({ ...pierYaml, pipeline: { registry: { address: `127.0.0.1:${fleet.registryPort}`, username: 'ci', passwordEnv: 'PIER_REGISTRY_PASSWORD' } } }));
  const envYaml = join(root, 'environments/production.yaml');
  const doc = parse(readFileSync(envYaml, 'utf8'));
  writeFileSync(envYaml, stringify({ ...doc, secrets: ['SESSION_SEED'], requiredEnv: { DB_PASSWORD: '.{8,}', API_TOKEN: 'tok-.+' }, env: { DB_PASSWORD: { from: [op, 'read', 'op://prod/db/password'], timeoutSeconds: 10 } } }));
  // The encrypted env file, committed in a real repo; its private key in the git-ignored .env.keys.
  const { publicKey, privateKey } = newKeypair();
  let text = `NODE_ENV=production\nLOG_SECRETS_ON_START=1\nDATABASE_URL=postgres://api:${encodeURIComponent(canary.dbUrlPassword)}@db:5432/api\nSESSION_SEED=${canary.sessionSeed}\n`;
  text = setEncrypted(text, 'production', publicKey, 'API_TOKEN', canary.apiToken);
  writeFileSync(join(root, 'environments/production.env'), text);
  writePrivateKey(root, 'production', privateKey);
});

describe.sequential('secrets on 3 simulated hosts', () => {
  it('deploys with an encrypted env file and a manager-sourced secret; no env file stays on a host', async () => {
    const r = await pier(['deploy', 'production', '--version', 's1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).hosts.map((h: { status: string }) => h.status)).toEqual(['deployed', 'deployed', 'deployed']);
    for (const { env } of await servingEnv()) {
      expect(env.API_TOKEN).toBe(canary.apiToken);
      expect(env.DB_PASSWORD).toBe(canary.dbPassword);
      expect(env.SESSION_SEED).toBe(canary.sessionSeed);
      expect(env.NODE_ENV).toBe('production');
    }
    for (const h of fleet.hosts) expect(await fleet.hostExec(h.name, ['sh', '-c', 'ls -A /var/lib/pier/deploy-app/env 2>/dev/null | wc -l']), h.name).toBe('0');
    // Plain config words are printed intact (garble test on real output).
    expect(r.stderr).toContain('deploy deploy-app s1 to production');
  }, 300_000);

  it('rotates a secret under load: pier secrets set, pier deploy --env-only: every host, zero failed requests, same image', async () => {
    const before = await servingEnv();
    const set = await pier(['secrets', 'set', 'production', 'API_TOKEN'], { input: `${canary.apiTokenRotated}\n` });
    expect(set.code, set.stderr).toBe(0);
    const load = startLoad(fleet.lbPort, 40);
    const r = await pier(['deploy', 'production', '--env-only', '--json']);
    const l = await load.stop();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).version).toBe('s1');
    expect(l.sent).toBeGreaterThan(100);
    expect(l.failures).toEqual([]);
    const after = await servingEnv();
    for (const [i, a] of after.entries()) {
      expect(a.env.API_TOKEN).toBe(canary.apiTokenRotated);
      expect(a.image, 'no new image').toBe(before[i]!.image);
    }
    console.log(JSON.stringify({ rotation: { requests: l.sent, failed: l.failures.length, p99_ms: l.p99Ms, seconds: JSON.parse(r.stdout).seconds } }));
  }, 300_000);

  it('a release that logs its secrets and never becomes healthy: --json, stderr and report show *** (defect 1)', async () => {
    const r = await pier(['deploy', 'production', '--version', 's2', '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { logs?: string };
    expect(report.logs).toContain('connecting to postgres://api:***@db:5432/api with token *** and db password ***');
  }, 300_000);

  it('a wrong key: exit 2 naming the env, no value and no key', async () => {
    const wrongKey = newKeypair().privateKey;
    const r = await pier(['deploy', 'production', '--version', 's1'], { env: { DOTENV_PRIVATE_KEY_PRODUCTION: wrongKey } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('environment "production": the private key from DOTENV_PRIVATE_KEY_PRODUCTION does not belong to environments/production.env');
    expect(r.stderr).not.toContain(wrongKey);
  }, 120_000);

  it('leak check: no canary in any form in anything pier wrote', async () => {
    expect((await pier(['config', '--env', 'production', '--json'])).code).toBe(0);
    const runs = join(root, '.pier', 'runs');
    for (const d of readdirSync(runs)) outputs.push({ what: `report ${d}`, text: readFileSync(join(runs, d, 'report.json'), 'utf8') });
    for (const h of fleet.hosts) {
      outputs.push({ what: `${h.name} audit.log`, text: await fleet.hostExec(h.name, ['cat', '/var/lib/pier/audit.log']) });
      outputs.push({ what: `${h.name} pier state`, text: await fleet.hostExec(h.name, ['sh', '-c', 'find /var/lib/pier -type f -not -name "*.log" -size -1M -exec cat {} +']) });
    }
    // The image (every layer) as shipped: secrets are runtime env, never baked in.
    const tar = join(tmpdir(), `pier-secrets-${tag}.tar`);
    await exec(['docker', 'save', '--output', tar, 'pier-test/deploy-app:good']);
    outputs.push({ what: 'docker save pier-test/deploy-app:good', text: readFileSync(tar).toString('latin1') });
    await exec(['rm', '-f', tar]);
    const hits: string[] = [];
    for (const [name, value] of Object.entries(canary)) {
      for (const form of secretForms(value)) for (const o of outputs) if (o.text.includes(form)) hits.push(`${name} (${form}) in ${o.what}`);
    }
    expect(outputs.length).toBeGreaterThan(15);
    expect(hits).toEqual([]);
  }, 180_000);
});
