/**
 * Self-signed test certificates with any validity window (openssl `ca -selfsign`, which takes
 * explicit start and end dates: expired certificates without a fake clock). Keys stay in the
 * caller's temp directory.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../src/util/exec.ts';

const CA_CONF = `[ca]
default_ca = pier_test
[pier_test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
`;

/** YYYYMMDDHHMMSSZ as openssl ca wants it. */
const asn1 = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A certificate for `names` (the first is the CN) valid from `notBefore` to `notAfter`. */
export async function makeCert(names: string[], notBefore: Date, notAfter: Date, dir = mkdtempSync(join(tmpdir(), 'pier-cert-'))): Promise<TestCert> {
  writeFileSync(join(dir, 'ca.cnf'), CA_CONF);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const o = { cwd: dir };
  await exec(['openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-keyout', keyFile, '-out', join(dir, 'csr.pem')], o);
  await exec(['openssl', 'ca', '-batch', '-notext', '-selfsign', '-config', 'ca.cnf', '-keyfile', keyFile, '-in', 'csr.pem', '-out', certFile, '-startdate', asn1(notBefore), '-enddate', asn1(notAfter)], o);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

export const days = (n: number, from = new Date()) => new Date(from.getTime() + n * 86_400_000);

const made = new Map<string, Promise<unknown>>();
/**
 * `make()` once per key in this process. Under StrykerJS the unit test files run again for every
 * mutant while imported modules stay loaded: openssl per run would dominate the mutation run.
 */
export function certOnce<T>(key: string, make: () => Promise<T>): Promise<T> {
  if (!made.has(key)) made.set(key, make());
  return made.get(key) as Promise<T>;
}
