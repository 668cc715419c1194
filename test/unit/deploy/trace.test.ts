/** PIER_TRACE=1: one stderr line per remote command (host, head, exit, ms), values redacted. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const run = (env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'tsx', 'test/fixtures/trace/run-traced.ts'], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('PIER_TRACE', () => {
  it('prints the connect and every command with its host, exit code and time; never a secret', () => {
    const r = run({ PIER_TRACE: '1' });
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\[trace\] \+\d+\.\d{3}s web9 connect exit 0 \d+ms$/);
    expect(lines[1]).toMatch(/^\[trace\] \+\d+\.\d{3}s web9 docker login --password \*\*\* exit 0 \d+ms$/);
    // A script shows its first line that is not a comment.
    expect(lines[2]).toMatch(/ web9 sh mkdir -p "\$1" && echo ok exit 0 \d+ms$/);
    expect(lines[3]).toMatch(/ web9 false exit 1 \d+ms$/);
    expect(r.stderr).not.toContain('Sup3rS3cretValue');
  });

  it('prints nothing without it', () => {
    const r = run({ PIER_TRACE: '' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});
