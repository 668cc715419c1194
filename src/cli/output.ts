/**
 * Everything the CLI writes goes through the one redactor (src/util/redact.ts): `--json` output is
 * redacted as an object (secret-looking keys, every string), and stdout/stderr themselves are
 * wrapped once per process, so a message that escaped every other path is still redacted.
 * `writeSecretValue` is the single deliberate exception (`pier secrets get`).
 */
import { redact, redactObject } from '../util/redact.ts';

type Write = typeof process.stdout.write;
let rawStdout: Write | undefined;

function wrap(stream: NodeJS.WriteStream): Write {
  const original = stream.write.bind(stream) as Write;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : chunk;
    return (original as (...a: unknown[]) => boolean)(typeof text === 'string' ? redact(text) : text, ...rest);
  }) as Write;
  return original;
}

/** Redact every write to stdout and stderr from now on (idempotent). */
export function installOutputRedaction(): void {
  if (rawStdout) return;
  rawStdout = wrap(process.stdout);
  wrap(process.stderr);
}

/** `--json` output: the value redacted, pretty-printed on stdout. */
export function printJson(value: unknown, pretty = true): void {
  console.log(JSON.stringify(redactObject(value), null, pretty ? 2 : undefined));
}

/** Print a secret's value on stdout, unredacted: only for `pier secrets get`, which asks for it. */
export function writeSecretValue(value: string): void {
  (rawStdout ?? process.stdout.write.bind(process.stdout))(`${value}\n`);
}
