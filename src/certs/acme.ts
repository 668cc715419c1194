/**
 * The acme-client boundary (ACME v2, RFC 8555): account key, order, HTTP-01 challenges, the
 * certificate chain. The challenge hooks are the caller's (every host's proxy answers them).
 * An ACME server with a private CA (an internal step-ca, Pebble in pier's tests) is trusted the
 * way every Node client trusts one: NODE_EXTRA_CA_CERTS.
 */
import acme from 'acme-client';

export interface ChallengeHooks {
  /** Make every host answer GET /.well-known/acme-challenge/<token> with `keyAuthorization`. */
  create(token: string, keyAuthorization: string, domain: string): Promise<void>;
  remove(token: string): Promise<void>;
}

export interface AcmeOrder {
  directory: string;
  email: string;
  /** PEM; created (ECDSA P-256) by the caller with newAccountKey when none is stored. */
  accountKey: string;
  hosts: readonly string[];
  hooks: ChallengeHooks;
  log?: (line: string) => void;
}

/** A new ACME account key (PEM, ECDSA P-256). */
export async function newAccountKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
}

/**
 * Obtain a certificate for `hosts` (the first is the subject): a fresh ECDSA P-256 key and CSR,
 * the account registered (or found) with its key, one HTTP-01 challenge per name. acme-client's
 * own pre-check (a GET from this machine through public DNS) is skipped: the caller checks every
 * host's answer itself, which a pre-check through DNS (one host behind a load balancer) cannot.
 */
export async function obtainCertificate(o: AcmeOrder): Promise<{ chainPem: string; keyPem: string }> {
  const client = new acme.Client({ directoryUrl: o.directory, accountKey: o.accountKey, backoffAttempts: 10, backoffMin: 500, backoffMax: 5000 });
  const [key, csr] = await acme.crypto.createCsr({ commonName: o.hosts[0]!, altNames: [...o.hosts] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
  const chainPem = await client.auto({
    csr,
    email: o.email,
    termsOfServiceAgreed: true,
    challengePriority: ['http-01'],
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      if (challenge.type !== 'http-01') throw new Error(`unsupported challenge ${challenge.type} (pier answers http-01 only)`);
      o.log?.(`challenge for ${authz.identifier.value}: written to every host`);
      await o.hooks.create(challenge.token, keyAuthorization, authz.identifier.value);
    },
    challengeRemoveFn: async (_authz, challenge) => {
      if (challenge.type === 'http-01') await o.hooks.remove(challenge.token);
    },
  });
  return { chainPem, keyPem: key.toString() };
}
