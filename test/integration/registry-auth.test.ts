// Publish to a registry that demands credentials: a real Distribution registry with htpasswd auth
// on a random 127.0.0.1 port. The password comes from an env var (pipeline.registry.passwordEnv),
// is used by the push, and appears in no error message; after `pier publish` pushed with it, no
// form of it (as written, URL-encoded, JSON-escaped, base64) is in anything that run wrote.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpolationVars } from '../../src/config/load.ts';
import { Registry } from '../../src/config/sections/pipeline.ts';
import { docker } from '../../src/docker/client.ts';
import { reap } from '../../src/docker/reap.ts';
import { DockerEngine } from '../../src/engine/docker.ts';
import { registryAuth } from '../../src/pipeline/stages/publish.ts';
import { newRunId, runLabels } from '../../src/util/run-id.ts';
import { poll } from '../../src/util/poll.ts';
import { secretForms } from '../../src/util/redact.ts';
import { repoRoot } from '../helpers/paths.ts';
import { runPier } from '../helpers/pier.ts';
import { get, statusOf } from '../helpers/http.ts';

const vars = interpolationVars(repoRoot);
const registryImage = vars.PIER_REGISTRY_IMAGE ?? 'registry:2';
const imageToPush = vars.PIER_REDIS_IMAGE ?? 'redis:7';
const runId = newRunId();
// `/`, `+` and `"` so that its URL-encoded and JSON-escaped forms differ from it (the leak check looks for all).
const password = `pw-${runId}/Zq8+"x`;
const dir = mkdtempSync(join(tmpdir(), 'pier-reg-auth-'));

/** bcrypt htpasswd line from the registry image itself (the stand-in ships apache2-utils). */
function htpasswdLine(): string | undefined {
  try {
    return execFileSync('docker', ['run', '--rm', '--label', `pier.run=${runId}`, '--entrypoint', 'htpasswd', registryImage, '-Bbn', 'ci', password], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const line = htpasswdLine();
let address = '';
let engine: DockerEngine;

describe.skipIf(!line)(`publish with registry auth (${line ? registryImage : `skipped: ${registryImage} has no htpasswd to make credentials`})`, () => {
  beforeAll(async () => {
    writeFileSync(join(dir, 'htpasswd'), `${line}\n`);
    writeFileSync(join(dir, 'config.yml'), [
      'version: 0.1',
      'storage: { filesystem: { rootdirectory: /var/lib/registry } }',
      'http: { addr: ":5000" }',
      'auth: { htpasswd: { realm: pier-test, path: /auth/htpasswd } }',
      '',
    ].join('\n'));
    const c = await docker().createContainer({
      Image: registryImage,
      Labels: runLabels(runId),
      Cmd: ['serve', '/auth/config.yml'],
      ExposedPorts: { '5000/tcp': {} },
      HostConfig: { Binds: [`${dir}:/auth:ro`], PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    await c.start();
    const port = (await c.inspect()).NetworkSettings.Ports['5000/tcp']?.[0]?.HostPort;
    address = `127.0.0.1:${port}`;
    await poll(`registry on ${address} asking for auth`, async () => ((await statusOf(`http://${address}/v2/`)) === 401 ? true : undefined), { timeoutMs: 10_000, intervalMs: 250 });
    engine = new DockerEngine({ runId });
  });

  afterAll(async () => {
    await engine?.close();
    await reap({ runId });
    for (const img of await docker().listImages({ filters: JSON.stringify({ reference: [`${address}/*`, `${address}/*/*`, 'pier-test/auth-cli'] }) })) {
      for (const tag of img.RepoTags ?? []) await docker().getImage(tag).remove().catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses anonymous access (the registry really requires auth)', async () => {
    expect((await get(`http://${address}/v2/`)).status).toBe(401);
    await expect(engine.publish({ image: { ref: imageToPush }, address: `${address}/pier/auth-test:anon` })).rejects.toThrow(/push of .* failed/);
  });

  it('pushes with the password from passwordEnv and returns the digest the registry serves', async () => {
    const reg = Registry.parse({ address, username: 'ci', passwordEnv: 'PIER_TEST_REGISTRY_PASSWORD' });
    const auth = registryAuth(reg, repoRoot, { PIER_TEST_REGISTRY_PASSWORD: password });
    const pub = await engine.publish({ image: { ref: imageToPush }, address: `${address}/pier/auth-test:ok`, auth });
    expect(pub.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const res = await get(`http://${address}/v2/pier/auth-test/manifests/ok`, {
      method: 'HEAD',
      headers: {
        authorization: `Basic ${Buffer.from(`ci:${password}`).toString('base64')}`,
        accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(pub.digest);
  });

  it('pier publish pushes with the password from passwordEnv; no form of it in stdout, stderr, report.json or any file under .pier', async () => {
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'Dockerfile'), `FROM ${imageToPush} AS runtime\nLABEL pier.test=registry-auth\n`);
    writeFileSync(join(app, 'pier.yaml'), [
      'app:',
      '  name: auth-cli',
      '  image: pier-test/auth-cli',
      '  version: 1.0.0',
      '  port: 6379',
      '  test: { command: ["true"] }',
      'pipeline:',
      '  registry:',
      `    address: "${address}"`,
      '    username: ci',
      '    passwordEnv: PIER_TEST_REGISTRY_PASSWORD',
      '    startLocal: false',
      '',
    ].join('\n'));
    const env = { PIER_TEST_REGISTRY_PASSWORD: password };
    const outputs: { what: string; text: string }[] = [];
    // --json (the report on stdout) and the human summary: two runs, both pushing.
    for (const args of [['publish', '--engine', 'docker', '--json'], ['publish', '--engine', 'docker']]) {
      const r = await runPier(args, { cwd: app, env, timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      outputs.push({ what: `pier ${args.join(' ')}: stdout`, text: r.stdout }, { what: `pier ${args.join(' ')}: stderr`, text: r.stderr });
    }
    const report = JSON.parse(outputs[0]!.text) as { stages: { name: string; status: string; figures?: { image?: string; digest?: string } }[] };
    const pub = report.stages.find((st) => st.name === 'publish')!;
    expect(pub.status).toBe('passed');
    expect(pub.figures?.image).toBe(`${address}/pier-test/auth-cli:1.0.0-nogit`);
    // The push really went through with the password: the registry serves that digest to it only.
    const manifest = `http://${address}/v2/pier-test/auth-cli/manifests/1.0.0-nogit`;
    const accept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
    expect((await get(manifest, { method: 'HEAD', headers: { accept } })).status).toBe(401);
    const res = await get(manifest, { method: 'HEAD', headers: { accept, authorization: `Basic ${Buffer.from(`ci:${password}`).toString('base64')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(pub.figures?.digest);
    // Every file pier wrote under .pier (report.json of each run, build records, logs).
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
    const files = walk(join(app, '.pier'));
    expect(files.filter((f) => f.endsWith('report.json'))).toHaveLength(2);
    for (const f of files) outputs.push({ what: f.slice(app.length + 1), text: readFileSync(f).toString('latin1') });
    const forms = secretForms(password);
    for (const f of [password, encodeURIComponent(password), JSON.stringify(password).slice(1, -1), Buffer.from(password).toString('base64')]) expect(forms).toContain(f);
    const hits = forms.flatMap((form) => outputs.filter((o) => o.text.includes(form)).map((o) => `${form} in ${o.what}`));
    expect(hits).toEqual([]);
  }, 300_000);

  it('a wrong password fails with a message that does not contain it', async () => {
    const wrong = `${password}-wrong`;
    const err = await engine
      .publish({ image: { ref: imageToPush }, address: `${address}/pier/auth-test:bad`, auth: { username: 'ci', password: wrong } })
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/push of .* failed/);
    expect((err as Error).message).not.toContain(wrong);
  });
});
