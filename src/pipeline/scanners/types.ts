/**
 * What a vulnerability scanner is to pier: how to run it on an image tarball (argv as data, as a
 * binary or as an image through the engine) and how to read its report into findings. Everything
 * else (policy, ignore file, SARIF, table, the gate) is scanner-independent (src/pipeline/findings.ts).
 */
import type { Finding, SarifTool } from '../findings.ts';

export interface Scanner {
  /** Short name: report files `<name>.json` / `<name>.sarif`, messages, the binary looked up on PATH. */
  name: string;
  /** argv after the executable: scan the tarball `input`, write a JSON report to `output`. */
  args(input: string, output: string, cacheDir?: string): string[];
  /** Findings of one report; throws on something that is not one. */
  parse(json: string): Finding[];
  sarif: SarifTool;
  /** What to do when the scanner is missing (exit 3 hint). */
  hint: string;
}
