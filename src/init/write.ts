/**
 * Apply init's plan to the repository without ever overwriting: a file that exists is kept (and
 * reported as kept); append-kind files (.gitignore, .dockerignore) only gain the lines they lack.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PlannedFile } from './render.ts';

export interface WriteResult {
  path: string;
  action: 'created' | 'kept' | 'appended' | 'unchanged';
  /** Lines added (append) */
  added?: string[];
  why: string;
}

/** Lines of `wanted` not already present in `existing` (exact line match, trimmed) (pure). */
export function missingLines(existing: string, wanted: string[]): string[] {
  const norm = (l: string) => l.trim().replace(/^\/|\/$/g, '');
  const have = new Set(existing.split(/\r?\n/).map(norm));
  return wanted.filter((l) => !have.has(norm(l)));
}

export function applyPlan(root: string, plan: PlannedFile[], opts: { dryRun?: boolean } = {}): WriteResult[] {
  return plan.map((f) => {
    const full = join(root, f.path);
    if (f.kind === 'create') {
      if (existsSync(full)) return { path: f.path, action: 'kept', why: f.why };
      if (!opts.dryRun) {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, f.content, { flag: 'wx' }); // wx: never clobber a file created meanwhile
      }
      return { path: f.path, action: 'created', why: f.why };
    }
    const existing = existsSync(full) ? readFileSync(full, 'utf8') : '';
    const add = missingLines(existing, f.content.split('\n').filter(Boolean));
    if (!add.length) return { path: f.path, action: 'unchanged', why: f.why };
    if (!opts.dryRun) {
      const sep = existing && !existing.endsWith('\n') ? '\n' : '';
      writeFileSync(full, `${existing}${sep}${existing ? '\n' : ''}# added by pier init\n${add.join('\n')}\n`);
    }
    return { path: f.path, action: existing ? 'appended' : 'created', added: add, why: f.why };
  });
}
