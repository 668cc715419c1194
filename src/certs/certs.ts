/**
 * HTTPS certificates of an environment (proxy.tls): where they come from (files named in the
 * config, or the per-environment ACME store `.pier/certs/<env>/`, every file 0600), whether a
 * deploy may use them, `pier certs status` (what each host's proxy has) and `pier certs renew`
 * (ACME order answered by every host's proxy, then the pair uploaded and each proxy reloaded
 * gracefully), under the fleet lock. No agent runs on the hosts: everything starts here.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ConfigError, EnvironmentError } from '../util/errors.ts';
import { registerSecret } from '../util/redact.ts';
import { parseProxyServes, renderProxyConf } from '../deploy/commands/nginx.ts';
import { renderBootstrapConf } from '../deploy/commands/nginx-tls.ts';
import { mapLimit } from '../deploy/executor.ts';
import { withHosts } from '../deploy/fleet.ts';
import type { HostOps } from '../deploy/host-ops.ts';
import { acquireFleetLock, releaseFleetLock } from '../deploy/lock.ts';
import type { DeployTarget } from '../deploy/target.ts';
import { certFacts, judgeCertificate, needsRenewal, type CertCheck, type CertFacts, type Verdict } from './x509.ts';

type Tls = NonNullable<DeployTarget['tls']>;

/** The per-environment ACME store (account key, certificate, key), all 0600 in a 0700 directory. */
export function acmeStore(target: Pick<DeployTarget, 'root' | 'envName'>): { dir: string; accountKey: string; cert: string; key: string } {
  const dir = join(target.root, '.pier', 'certs', target.envName);
  return { dir, accountKey: join(dir, 'account.key'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

const envFile = (t: Pick<DeployTarget, 'envName'>) => `environments/${t.envName}.yaml`;
export const renewHint = (t: Pick<DeployTarget, 'envName' | 'tls'>) =>
  t.tls?.acme ? `run: pier certs renew ${t.envName}` : `replace the files named in proxy.tls.certificate, then run: pier certs renew ${t.envName}`;

function tlsOf(target: DeployTarget): Tls {
  if (!target.tls) throw new ConfigError([{ file: envFile(target), path: 'proxy.tls', message: 'not set: this environment serves plain HTTP (see README, HTTPS)' }]);
  return target.tls;
}

/** Write a file 0600 atomically (temp + rename), its directory 0700. */
function writeSecretFile(file: string, text: string, dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
}

/**
 * The certificate and key a deploy would use, with where each came from; undefined when the ACME
 * store has none yet. A file named in proxy.tls.certificate that does not exist is a ConfigError
 * naming the key. The key is registered as a secret (never printed).
 */
export function localCertificate(target: DeployTarget): CertCheck | undefined {
  const tls = tlsOf(target);
  if (tls.certificate) {
    const read = (key: 'cert' | 'key') => {
      const rel = tls.certificate![key];
      const file = isAbsolute(rel) ? rel : join(target.root, rel);
      if (!existsSync(file)) throw new ConfigError([{ file: envFile(target), path: `proxy.tls.certificate.${key}`, message: `no such file: ${rel}` }]);
      return { file: rel, text: readFileSync(file, 'utf8') };
    };
    const cert = read('cert');
    const key = read('key');
    registerSecret(key.text);
    return { source: cert.file, keySource: key.file, chainPem: cert.text, keyPem: key.text };
  }
  const s = acmeStore(target);
  if (!existsSync(s.cert) || !existsSync(s.key)) return undefined;
  const keyPem = readFileSync(s.key, 'utf8');
  registerSecret(keyPem);
  return { source: s.cert, keySource: s.key, chainPem: readFileSync(s.cert, 'utf8'), keyPem };
}

/**
 * May a deploy go ahead? Refused (EnvironmentError, exit 3, naming the file and how to renew):
 * no certificate yet, mismatched key, expired, a configured name missing. Returns the material
 * and a warning when fewer than 14 days remain. Checked before any host is contacted.
 */
export function certificateForDeploy(target: DeployTarget, now = new Date()): { material: CertCheck; verdict: Verdict } {
  const tls = tlsOf(target);
  const material = localCertificate(target);
  if (!material) throw new EnvironmentError(`proxy.tls: no certificate for ${target.envName} yet (${acmeStore(target).cert})`, renewHint(target));
  const verdict = judgeCertificate(material, tls.hosts, now, renewHint(target));
  if (verdict.level === 'refuse') throw new EnvironmentError(`certificate refused: ${verdict.message}`);
  return { material, verdict };
}

/** One host's certificate as its proxy has it. */
export interface HostCert {
  host: string;
  subject?: string;
  issuer?: string;
  names?: string[];
  notAfter?: string;
  daysLeft?: number;
  fingerprint?: string;
  /** ok, warn (< 14 days), expired, missing, differs (not the environment's current certificate), error. */
  state: 'ok' | 'warn' | 'expired' | 'missing' | 'differs' | 'error';
  detail?: string;
}

/** What a host's chain says, judged against the local one (pure). */
export function judgeHostCert(host: string, chainPem: string, local: CertFacts | undefined, now: Date): HostCert {
  if (!chainPem.trim()) return { host, state: 'missing', detail: 'no certificate on this host' };
  let f: CertFacts;
  try {
    f = certFacts(chainPem);
  } catch (e) {
    return { host, state: 'error', detail: (e as Error).message };
  }
  const days = Math.floor((f.notAfter.getTime() - now.getTime()) / 86_400_000);
  const base = { host, subject: f.subject, issuer: f.issuer, names: f.names, notAfter: f.notAfter.toISOString(), daysLeft: days, fingerprint: f.fingerprint };
  if (f.notAfter.getTime() <= now.getTime()) return { ...base, state: 'expired' };
  if (local && local.fingerprint !== f.fingerprint) return { ...base, state: 'differs', detail: 'not the certificate stored for this environment: pier certs renew uploads it' };
  return { ...base, state: days < 14 ? 'warn' : 'ok' };
}

/** `pier certs status`: the certificate on every host (read-only, no lock). */
export async function certsStatus(target: DeployTarget, now = new Date()): Promise<{ local?: CertFacts; hosts: HostCert[] }> {
  tlsOf(target);
  const material = localCertificate(target);
  let local: CertFacts | undefined;
  try {
    local = material ? certFacts(material.chainPem) : undefined;
  } catch {
    local = undefined;
  }
  const hosts = await withHosts(target, (ops) =>
    Promise.all(ops.map(async (o) => {
      try {
        return judgeHostCert(o.name, await o.readCertificate(), local, now);
      } catch (e) {
        return { host: o.name, state: 'error' as const, detail: (e as Error).message };
      }
    })),
  );
  return { ...(local ? { local } : {}), hosts };
}

export interface RenewReport {
  env: string;
  renewed: boolean;
  reason: string;
  subject: string;
  issuer: string;
  notAfter: string;
  hosts: { host: string; uploaded: boolean }[];
}

/**
 * The proxy config a host gets around a certificate change: its releases (from the config's
 * `# pier-serves` record) with TLS served once `serve`; before any release, the bootstrap config
 * (challenge path, 503). A config without that record (an older pier) cannot be re-rendered.
 */
export function tlsProxyConf(host: string, current: string, o: HostOps, serve: boolean): string {
  const serves = parseProxyServes(current);
  if (serves.length) {
    return renderProxyConf({
      upstreams: serves.map((s) => ({ address: s.address, release: s.version, container: s.container, image: s.image, ...(s.weight !== undefined ? { weight: s.weight } : {}) })),
      tls: o.proxyTls(serve),
    });
  }
  if (current.trim() && !current.startsWith('# Managed by pier certs')) {
    throw new EnvironmentError(`${host}: its proxy config does not record what it serves (written by an older pier)`, 'deploy once with this pier version (without proxy.tls), then run pier certs renew');
  }
  return renderBootstrapConf();
}

/** Apply the TLS-aware config on one host; a proxy started before proxy.tls (no HTTPS port) is started again with it. */
async function prepareHost(o: HostOps, serve: boolean, reload = false): Promise<void> {
  // pier's directories and the host network (a new host has neither).
  await o.ensureBase();
  const current = await o.proxyConf();
  const conf = tlsProxyConf(o.name, current, o, serve);
  const publishes = await o.proxyPublishesTls();
  // A renewal on a host already serving TLS changes no config: one reload, for the new files, only.
  if (publishes && conf === current) return reload ? o.reloadProxy() : undefined;
  if (!publishes) await o.removeProxy();
  await o.applyProxyConf(conf);
}

/**
 * `pier certs renew`: under the fleet lock. ACME: a new certificate when needed (none, names
 * changed, < 30 days, --force), its HTTP-01 challenges written to every host and checked through
 * each proxy before the CA is asked to validate; files: checked (refused naming the file before
 * any host changes). Then the pair is uploaded (0600) where it differs and each proxy reloaded
 * gracefully.
 */
export async function renewCerts(target: DeployTarget, opts: { force?: boolean; by?: string; log?: (s: string) => void; now?: Date } = {}): Promise<RenewReport> {
  const tls = tlsOf(target);
  const log = opts.log ?? (() => {});
  const now = opts.now ?? new Date();
  // Files: refused before any host is contacted.
  let material = localCertificate(target);
  let decision = { renew: false, reason: 'certificate files from proxy.tls.certificate' };
  if (tls.certificate) {
    const v = judgeCertificate(material!, tls.hosts, now, renewHint(target));
    if (v.level === 'refuse') throw new EnvironmentError(`certificate refused, no host changed: ${v.message}`);
    if (v.level === 'warn') log(`warning: ${v.message}`);
  } else {
    let facts: CertFacts | undefined;
    try {
      facts = material ? certFacts(material.chainPem) : undefined;
    } catch {
      facts = undefined;
    }
    decision = needsRenewal(facts, tls.hosts, now, opts.force);
  }
  return withHosts(target, async (ops, runId) => {
    await acquireFleetLock(ops, { by: opts.by ?? target.by, run: runId, version: '(certificate)', at: now.toISOString(), pid: process.pid, command: 'certs renew' }, target.envName);
    try {
      let renewed = false;
      if (tls.acme && decision.renew) {
        log(`renewing: ${decision.reason}`);
        // Every proxy must answer the challenge path first (a new host has no proxy yet).
        const had = await Promise.all(ops.map(async (o) => (await o.readCertificate()).trim() !== ''));
        await each(ops, target, (o, i) => prepareHost(o, had[i]!));
        material = await order(target, tls, ops, log);
        renewed = true;
      } else log(`not renewed: ${decision.reason}`);
      if (!material) throw new EnvironmentError('no certificate to install');
      const m = material;
      // Upload where it differs, then the TLS config (graceful reload: in-flight requests finish).
      const uploaded = await each(ops, target, async (o) => {
        const changed = await o.installCertificate(m.chainPem, m.keyPem);
        await prepareHost(o, true, changed);
        return changed;
      });
      const f = certFacts(m.chainPem);
      return { env: target.envName, renewed, reason: decision.reason, subject: f.subject, issuer: f.issuer, notAfter: f.notAfter.toISOString(), hosts: ops.map((o, i) => ({ host: o.name, uploaded: uploaded[i]! })) };
    } finally {
      await releaseFleetLock(ops, runId);
    }
  });
}

/** `fn` on every host in parallel; any failure fails the whole with every host's error named. */
async function each<T>(ops: HostOps[], target: DeployTarget, fn: (o: HostOps, i: number) => Promise<T>): Promise<T[]> {
  const results = await mapLimit(ops.map((o, i) => ({ o, i })), Math.max(target.parallel, ops.length), ({ o, i }) => fn(o, i));
  const failed = results.map((r, i) => ({ r, host: ops[i]!.name })).filter((x) => x.r.status === 'rejected');
  if (failed.length) throw new EnvironmentError(failed.map((x) => `${x.host}: ${((x.r as PromiseRejectedResult).reason as Error).message}`).join('\n'));
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** The ACME order: account key (created once, kept 0600), challenges on every host, the new pair stored 0600. */
async function order(target: DeployTarget, tls: Tls, ops: HostOps[], log: (s: string) => void): Promise<CertCheck> {
  const { newAccountKey, obtainCertificate } = await import('./acme.ts');
  const store = acmeStore(target);
  if (!existsSync(store.accountKey)) writeSecretFile(store.accountKey, await newAccountKey(), store.dir);
  const accountKey = readFileSync(store.accountKey, 'utf8');
  registerSecret(accountKey);
  const { chainPem, keyPem } = await obtainCertificate({
    directory: tls.acme!.directory,
    email: tls.acme!.email,
    accountKey,
    hosts: tls.hosts,
    log,
    hooks: {
      // Written to every host (the CA may reach any of them through a load balancer), then read
      // back through each host's proxy: the CA is asked to validate only once all answer.
      create: async (token, keyAuthorization) => {
        await each(ops, target, async (o) => {
          await o.writeChallenge(token, keyAuthorization);
          const answer = await o.challengeAnswer(token);
          if (answer !== keyAuthorization) throw new Error(`its proxy does not answer the ACME challenge (GET /.well-known/acme-challenge/${token} -> ${JSON.stringify(answer.slice(0, 80))})`);
        });
      },
      remove: async (token) => void (await Promise.allSettled(ops.map((o) => o.removeChallenge(token)))),
    },
  });
  registerSecret(keyPem);
  writeSecretFile(store.key, keyPem, store.dir);
  writeSecretFile(store.cert, chainPem, store.dir);
  log(`certificate stored in ${store.dir} (0600)`);
  return { source: store.cert, keySource: store.key, chainPem, keyPem };
}

/**
 * A deploy's check (under its lock, read-only): a proxy running without the HTTPS port is refused:
 * restarting it mid-deploy would drop requests; `pier certs renew` does it once, on purpose.
 */
export async function checkProxiesForDeploy(ops: HostOps[], env: string): Promise<void> {
  const states = await Promise.all(ops.map((o) => o.proxyTlsState()));
  const httpOnly = ops.filter((_, i) => states[i] === 'http-only').map((o) => o.name);
  if (httpOnly.length) throw new EnvironmentError(`proxy.tls: the proxy on ${httpOnly.join(', ')} was started without the HTTPS port`, `run: pier certs renew ${env} (restarts those proxies once with it), then deploy again`);
}

/**
 * A deploy's upload (after the preDeploy hook, before any proxy config naming it is loaded): the
 * pair where it differs (nginx loads it at the switch's graceful reload).
 */
export async function installForDeploy(ops: HostOps[], m: CertCheck): Promise<void> {
  await Promise.all(ops.map((o) => o.installCertificate(m.chainPem, m.keyPem)));
}
