/**
 * The dotenvx boundary: keypairs and value encryption in the format of `@dotenvx/dotenvx` (the
 * dotenv author's encrypted .env files: ECIES over secp256k1, values `encrypted:<base64>`, the
 * public key in the file as `DOTENV_PUBLIC_KEY_<ENV>`, the private key in `DOTENV_PRIVATE_KEY_<ENV>`
 * or `.env.keys`). Files pier writes are read by the dotenvx CLI and the other way round.
 */
import { createRequire } from 'node:module';

interface Primitives {
  keypair(privateKey?: string): { publicKey: string; privateKey: string };
  encrypt(publicKey: string, value: string): string;
  decrypt(privateKey: string, value: string): string;
}

// The crypto primitives of @dotenvx/dotenvx (its own dependency), loaded once, on demand.
let prim: Primitives | undefined;
const load = (): Primitives => (prim ??= createRequire(import.meta.url)('@dotenvx/primitives') as Primitives);

export const ENCRYPTED_PREFIX = 'encrypted:';

export function newKeypair(): { publicKey: string; privateKey: string } {
  return load().keypair();
}

/** The public key of a private key; undefined when it is not a valid secp256k1 key. */
export function publicKeyOf(privateKey: string): string | undefined {
  if (!/^[0-9a-f]{64}$/i.test(privateKey)) return undefined;
  try {
    return load().keypair(privateKey).publicKey;
  } catch {
    return undefined;
  }
}

export function encryptValue(publicKey: string, value: string): string {
  return load().encrypt(publicKey, value);
}

/** Decrypt one `encrypted:` value; throws (without the value) when the key does not fit. */
export function decryptValue(privateKey: string, value: string): string {
  return load().decrypt(privateKey, value);
}
