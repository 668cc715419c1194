import { describe, expect, it } from 'vitest';
import { runPier } from '../../helpers/pier.ts';

describe('release verbs: usage errors exit 2 before anything remote', () => {
  it('pier guard --window that is not a duration', async () => {
    const r = await runPier(['guard', 'production', '--window', 'ten minutes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--window: "ten minutes" is not a duration/);
  });
  it('pier promote needs two environments', async () => {
    const r = await runPier(['promote', 'staging']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/expected two environments: pier promote <from-env> <to-env>/);
  });
  it('pier release --from and --to the same environment', async () => {
    const r = await runPier(['release', '--version', 'v1', '--from', 'production', '--to', 'production']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--from and --to name the same environment \(production\)/);
  });
  it('help names the flow', async () => {
    const r = await runPier(['release', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pier ci .* -> deploy that digest to staging -> staging's checks/s);
  });
});
