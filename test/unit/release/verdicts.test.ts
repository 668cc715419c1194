import { describe, expect, it } from 'vitest';
import { digestOf } from '../../../src/util/image-ref.ts';
import { decidePromotion, decideRequiredPass, parseVerdicts, PromotionRefused, verdictLine, type Verdict } from '../../../src/release/verdicts.ts';
import { publishedBy } from '../../../src/release/ci-step.ts';
import { renderSummary } from '../../../src/release/report.ts';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const img = (d: string) => `reg:5000/pier-test/app@${d}`;
const v = (o: Partial<Verdict>): Verdict => ({ env: 'staging', kind: 'checks', version: 'v5', digest: D1, ok: true, at: '2026-12-01T10:00:00.000Z', by: 'ci@runner', run: 'r1', detail: ['e2e passed (12 passed, 0 failed)'], ...o });
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PromotionRefused);
    expect((e as PromotionRefused).exitCode).toBe(1);
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('deploy.requirePassed decision', () => {
  it('by version (pier deploy): the newest checks verdict of the required environment decides; its digest is what to pull', () => {
    expect(decideRequiredPass('production', 'staging', { version: 'v5' }, [v({ ok: false, digest: D2, at: '2026-12-01T09:00:00.000Z' }), v({})])).toMatchObject({ digest: D1, run: 'r1' });
    expect(refusal(() => decideRequiredPass('production', 'staging', { version: 'v5' }, [v({}), v({ ok: false, digest: D2, at: '2026-12-01T11:00:00.000Z', run: 'r2' })]))).toBe(
      `cannot deploy v5 (${D2}) to production: deploy.requirePassed: staging's checks failed for it (2026-12-01T11:00:00.000Z, run r2): e2e passed (12 passed, 0 failed)`,
    );
  });
  it('by digest (pier promote from another environment); other environments, kinds and digests do not count', () => {
    const others = [v({ env: 'qa' }), v({ kind: 'guard' }), v({ digest: D2 })];
    expect(refusal(() => decideRequiredPass('production', 'staging', { version: 'v5', digest: D1 }, others))).toBe(
      `cannot deploy v5 (${D1}) to production: deploy.requirePassed says staging's checks must pass it first, and staging has no checks verdict for it`,
    );
    expect(decideRequiredPass('production', 'staging', { version: 'v5', digest: D2 }, others)).toMatchObject({ digest: D2 });
  });
});

describe('promotion decision', () => {
  const serving = (...images: string[]) => images.map((image, i) => ({ host: `stage${i + 1}`, version: 'v5', image }));

  it('promotes the digest every host serves when its newest checks verdict passed', () => {
    const p = decidePromotion('staging', serving(img(D1), img(D1)), [v({ ok: false, at: '2026-12-01T09:00:00.000Z', run: 'r0' }), v({})], true);
    expect(p).toMatchObject({ version: 'v5', digest: D1, image: img(D1), verdict: { run: 'r1' } });
  });

  it('refuses a digest whose checks failed, naming the run and what failed; a later failure withdraws a pass', () => {
    expect(refusal(() => decidePromotion('staging', serving(img(D1)), [v({ ok: false, detail: ['e2e failed (11 passed, 1 failed)'] })], true))).toBe(
      `cannot promote v5 (sha256:aaaaaaaaaaaa) from staging: its checks failed (2026-12-01T10:00:00.000Z, run r1): e2e failed (11 passed, 1 failed)`,
    );
    expect(refusal(() => decidePromotion('staging', serving(img(D1)), [v({}), v({ ok: false, at: '2026-12-01T11:00:00.000Z', run: 'r2' })], true))).toMatch(/its checks failed .* run r2/);
  });

  it('a pass of another digest, of another environment or of smoke does not count', () => {
    const others = [v({ digest: D2 }), v({ env: 'qa' }), v({ kind: 'smoke' })];
    expect(refusal(() => decidePromotion('staging', serving(img(D1)), others, true))).toMatch(/its checks have not run for this digest/);
  });

  it('refuses when the hosts disagree, when nothing serves, for a streamed (tag-only) image, and without checks configured', () => {
    expect(refusal(() => decidePromotion('staging', serving(img(D1), img(D2)), [v({})], true))).toBe(
      `cannot promote from staging: its hosts disagree on what they serve:\n  ${D1}: stage1 (v5)\n  ${D2}: stage2 (v5)`,
    );
    expect(refusal(() => decidePromotion('staging', [{ host: 'stage1' }], [], true))).toMatch(/stage1 serves nothing/);
    expect(refusal(() => decidePromotion('staging', serving('pier-test/app:v5'), [], true))).toMatch(/not an image pulled by digest/);
    expect(refusal(() => decidePromotion('staging', serving(img(D1)), [v({})], false))).toMatch(/no checks: configured/);
  });
});

describe('verdict records', () => {
  it('round-trip, de-duplicated across hosts, torn lines skipped, ordered by time', () => {
    const a = verdictLine(v({ at: '2026-12-01T10:00:00.000Z' }));
    const b = verdictLine(v({ run: 'r2', at: '2026-12-01T09:00:00.000Z' }));
    const got = parseVerdicts([`${a}\n${b}\n`, `${a}\n{"env":"stag`]);
    expect(got.map((x) => x.run)).toEqual(['r2', 'r1']);
  });
  it('a line stays under PIPE_BUF (atomic append) however long the details', () => {
    const line = verdictLine(v({ detail: Array.from({ length: 200 }, (_, i) => `check-${i} failed: ${'x'.repeat(200)}`) }));
    expect(line.length).toBeLessThan(4096);
    expect(JSON.parse(line).detail.at(-1)).toBe('(+195 more)');
  });
  it('digest of a digest reference only', () => {
    expect(digestOf(img(D1))).toBe(D1);
    expect(digestOf('repo:v5')).toBeUndefined();
    expect(digestOf(undefined)).toBeUndefined();
  });
});

describe('release plumbing', () => {
  it("the ci step's tag and digest come from the publish stage", () => {
    const report = { stages: [{ name: 'build', status: 'passed', figures: {} }, { name: 'publish', status: 'passed', durationMs: 1, figures: { image: '127.0.0.1:5000/example-api:1.2.0-abc1234', digest: D1 } }] };
    expect(publishedBy(report as never)).toEqual({ version: '1.2.0-abc1234', digest: D1, image: '127.0.0.1:5000/example-api:1.2.0-abc1234' });
    expect(publishedBy({ stages: [{ name: 'publish', status: 'failed', figures: {} }] } as never)).toBeUndefined();
  });
  it('the summary lists every step with its time and figures', () => {
    const text = renderSummary({
      run: 'r1', command: 'release staging -> production', version: 'v5', digest: D1, ok: false, exitCode: 1, seconds: 42.3,
      steps: [
        { name: 'deploy', env: 'staging', status: 'passed', seconds: 6.2, summary: 'v5 on 1 hosts (stage1:deployed)' },
        { name: 'checks', env: 'staging', status: 'failed', seconds: 3.1, summary: '✗ e2e  11 passed, 1 failed (node:test), exit 1, 3.1s' },
        { name: 'promote', env: 'production', status: 'skipped', seconds: 0, summary: 'staging checks failed: production not touched' },
      ],
      error: 'staging checks failed',
    });
    expect(text).toBe([
      'release staging -> production v5 (sha256:aaaaaaaaaaaa): stopped in 42.3s',
      '  ✓ deploy staging            6.2s  v5 on 1 hosts (stage1:deployed)',
      '  ✗ checks staging            3.1s  ✗ e2e  11 passed, 1 failed (node:test), exit 1, 3.1s',
      '  - promote production        0.0s  staging checks failed: production not touched',
      '  staging checks failed',
    ].join('\n'));
  });
});
