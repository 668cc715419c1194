/**
 * Verdict records: which image digest passed (or failed) which environment's checks, smoke tests
 * and guard. Kept as JSON lines on every host of that environment (`<deploy.dir>/<app>/verdicts.jsonl`,
 * beside releases.jsonl): the record travels with the deploy history, so any machine that can
 * deploy (a laptop, a fresh CI runner) sees the same answer, and it cannot drift from what the
 * hosts serve. Formats and the promotion decision are pure.
 */
import { ExitCode, PierError } from '../util/errors.ts';
import { digestOf } from '../util/image-ref.ts';

/** A promotion refused by what the records say (exit 1, a gate), with what to do instead. */
export class PromotionRefused extends PierError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.gate, hint);
  }
}

export type VerdictKind = 'checks' | 'smoke' | 'guard';

export interface Verdict {
  env: string;
  kind: VerdictKind;
  version: string;
  /** `sha256:...` of the image that was checked. */
  digest: string;
  ok: boolean;
  at: string;
  by: string;
  run: string;
  /** Per check: name, ok, pass/fail counts; per guard: the deciding reasons. Short: one line < 4 KiB. */
  detail: string[];
}

/** One JSON line (bounded: an append under PIPE_BUF is atomic). */
export function verdictLine(v: Verdict): string {
  const line = JSON.stringify(v);
  if (line.length < 3500) return line;
  return JSON.stringify({ ...v, detail: [...v.detail.slice(0, 5).map((d) => d.slice(0, 300)), `(+${v.detail.length - 5} more)`] });
}

/** Every verdict of several hosts' files, de-duplicated (each run writes the same line to every host), oldest first. */
export function parseVerdicts(texts: readonly string[]): Verdict[] {
  const seen = new Map<string, Verdict>();
  for (const text of texts) {
    for (const l of text.split('\n')) {
      if (!l.trim()) continue;
      try {
        const v = JSON.parse(l) as Verdict;
        if (typeof v?.digest !== 'string' || typeof v.ok !== 'boolean' || typeof v.kind !== 'string') continue;
        seen.set(`${v.run}\u0000${v.kind}\u0000${v.digest}`, v);
      } catch {
        // a torn line (host crashed mid-write) is not a verdict
      }
    }
  }
  return [...seen.values()].sort((a, b) => a.at.localeCompare(b.at));
}

/** What each host of an environment serves, for the promotion decision. */
export interface Serving {
  host: string;
  version?: string;
  image?: string;
}

export interface Promotable {
  version: string;
  image: string;
  digest: string;
  /** The passing checks verdict that allows it. */
  verdict: Verdict;
}

/**
 * May what `from` serves be promoted? Every host must serve the same digest, and the newest
 * checks verdict of `from` for that digest must have passed (a later failure of the same digest
 * withdraws an earlier pass). Throws PromotionRefused saying why not (exit 1).
 */
export function decidePromotion(fromEnv: string, serving: readonly Serving[], verdicts: readonly Verdict[], hasChecks: boolean): Promotable {
  const missing = serving.filter((s) => !s.image);
  if (missing.length) throw new PromotionRefused(`cannot promote from ${fromEnv}: ${missing.map((s) => s.host).join(', ')} ${missing.length > 1 ? 'serve' : 'serves'} nothing (no current release)`, `deploy to ${fromEnv} first`);
  const digests = new Map<string, string[]>();
  for (const s of serving) {
    const d = digestOf(s.image) ?? `tag ${s.image}`;
    digests.set(d, [...(digests.get(d) ?? []), `${s.host} (${s.version})`]);
  }
  if (digests.size > 1) {
    throw new PromotionRefused(
      `cannot promote from ${fromEnv}: its hosts disagree on what they serve:\n${[...digests.entries()].map(([d, hs]) => `  ${d}: ${hs.join(', ')}`).join('\n')}`,
      `deploy one release to every host of ${fromEnv} (or pier rollback ${fromEnv}) and run its checks`,
    );
  }
  const first = serving[0]!;
  const digest = digestOf(first.image);
  if (!digest) throw new PromotionRefused(`cannot promote from ${fromEnv}: it serves ${first.image}, not an image pulled by digest (streamed images have no registry digest)`, `deploy to ${fromEnv} from a registry (deploy.registry)`);
  if (!hasChecks) throw new PromotionRefused(`cannot promote from ${fromEnv}: it has no checks: configured, so nothing says ${digest.slice(0, 19)} passed there`, `add checks: to environments/${fromEnv}.yaml`);
  const mine = verdicts.filter((v) => v.kind === 'checks' && v.env === fromEnv && v.digest === digest);
  const last = mine[mine.length - 1];
  if (!last) throw new PromotionRefused(`cannot promote ${first.version} (${digest.slice(0, 19)}) from ${fromEnv}: its checks have not run for this digest`, `pier checks ${fromEnv}`);
  if (!last.ok) throw new PromotionRefused(`cannot promote ${first.version} (${digest.slice(0, 19)}) from ${fromEnv}: its checks failed (${last.at}, run ${last.run}): ${last.detail.join('; ')}`);
  return { version: first.version!, image: first.image!, digest, verdict: last };
}

/** What deploy.requirePassed asks about: a tag (plain `pier deploy`) or a digest (promotion). */
export interface RequiredPassWant {
  version: string;
  digest?: string;
}

/**
 * deploy.requirePassed: may `want` go to `env`? The newest checks verdict of `required` for it
 * (by digest when known, else by version) must have passed. Returns that verdict: its digest is
 * what `env` pulls, the bytes `required` passed. Throws PromotionRefused naming both
 * environments and the digest (exit 1).
 */
export function decideRequiredPass(env: string, required: string, want: RequiredPassWant, verdicts: readonly Verdict[]): Verdict {
  const what = want.digest ? `${want.version} (${want.digest})` : want.version;
  const mine = verdicts.filter((v) => v.kind === 'checks' && v.env === required && (want.digest ? v.digest === want.digest : v.version === want.version));
  const last = mine[mine.length - 1];
  const override = `or, knowingly, pier deploy ${env} --no-require-passed`;
  if (!last) {
    throw new PromotionRefused(
      `cannot deploy ${what} to ${env}: deploy.requirePassed says ${required}'s checks must pass it first, and ${required} has no checks verdict for it`,
      `deploy it to ${required}, run pier checks ${required}, then pier promote ${required} ${env} (${override})`,
    );
  }
  if (!last.ok) {
    throw new PromotionRefused(
      `cannot deploy ${last.version} (${last.digest}) to ${env}: deploy.requirePassed: ${required}'s checks failed for it (${last.at}, run ${last.run}): ${last.detail.join('; ')}`,
      `fix it and release a new version through ${required} (${override})`,
    );
  }
  return last;
}
