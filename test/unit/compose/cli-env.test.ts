// `pier env` argument and configuration errors: exit 2 with a clear message, before Docker is asked.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.ts';

function capture() {
  const err: string[] = [];
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(console, 'log').mockImplementation(() => {});
  return err;
}

afterEach(() => vi.restoreAllMocks());

describe('pier env usage', () => {
  it.each([
    [['env'], 'expected an action: up, down, status, logs'],
    [['env', 'frob', 'staging'], 'expected an action: up, down, status, logs (got "frob")'],
    [['env', 'up'], 'pier env up: expected an environment name, e.g. pier env up staging'],
    [['env', 'status', 'staging', 'extra'], 'pier env status: unexpected arguments: extra'],
    [['env', 'up', 'staging', '--timeout', 'soon'], '--timeout: expected a positive integer, got "soon"'],
    [['env', 'up', 'production'], 'environment "production" has no compose files'],
    [['env', 'up', 'nope'], 'environment "nope" not found: expected environments/nope.yaml'],
  ] as [string[], string][])('%j exits 2', async (argv, message) => {
    const err = capture();
    expect(await main(argv)).toBe(2);
    expect(err.join('\n')).toContain(message);
  });

  it('the committed staging template is rejected until POSTGRES_PASSWORD is filled in', async () => {
    const err = capture();
    expect(await main(['env', 'up', 'staging', '--env-file', 'environments/staging.env.example', '--project', 'pier-never-started'])).toBe(2);
    expect(err.join('\n')).toMatch(/environments\/staging\.env\.example:\d+:1: POSTGRES_PASSWORD: empty: expected a value matching/);
  });
});
