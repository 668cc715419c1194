// Real .env files (values, secrets) are never committed: only *.env.example templates are.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.ts';

/** Tracked paths that are dotenv files with real values: `.env`, `x.env`, `.env.local`... */
export function realEnvFiles(paths: string[]): string[] {
  return paths.filter((p) => {
    const base = p.split('/').pop()!;
    if (base.endsWith('.example')) return false;
    return base === '.env' || base.endsWith('.env') || base.startsWith('.env.');
  });
}

describe('no real .env file is tracked by git', () => {
  it('recognises env files and their templates', () => {
    expect(realEnvFiles(['.env', 'environments/staging.env', 'a/.env.local', 'environments/staging.env.example', 'src/env.ts', 'compose/dev.yaml'])).toEqual(['.env', 'environments/staging.env', 'a/.env.local']);
  });

  it('git ls-files lists none', () => {
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
    expect(tracked.length).toBeGreaterThan(0);
    expect(realEnvFiles(tracked)).toEqual([]);
  });

  it('.gitignore ignores them', () => {
    const ignored = (p: string) => {
      try {
        execFileSync('git', ['check-ignore', '-q', '--no-index', p], { cwd: repoRoot });
        return true;
      } catch {
        return false;
      }
    };
    expect(ignored('.env')).toBe(true);
    expect(ignored('environments/staging.env')).toBe(true);
    expect(ignored('environments/staging.env.example')).toBe(false);
  });
});
