import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPlan, missingLines } from '../../../src/init/write.ts';
import type { PlannedFile } from '../../../src/init/render.ts';

const dir = mkdtempSync(join(tmpdir(), 'pier-init-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const planned: PlannedFile[] = [
  { path: 'pier.yaml', kind: 'create', content: 'generated: true\n', why: 'x' },
  { path: 'environments/dev.yaml', kind: 'create', content: 'compose: []\n', why: 'x' },
  { path: '.gitignore', kind: 'append', content: '.pier/\nenvironments/*.env', why: 'x' },
];

describe('writing init files', () => {
  it('never overwrites a user file; appends only missing ignore lines; a second run changes nothing', () => {
    writeFileSync(join(dir, 'pier.yaml'), 'mine: true\n');
    writeFileSync(join(dir, '.gitignore'), 'node_modules\n/.pier\n');
    const first = applyPlan(dir, planned);
    expect(first.map((r) => [r.path, r.action])).toEqual([
      ['pier.yaml', 'kept'],
      ['environments/dev.yaml', 'created'],
      ['.gitignore', 'appended'],
    ]);
    expect(readFileSync(join(dir, 'pier.yaml'), 'utf8')).toBe('mine: true\n');
    expect(readFileSync(join(dir, 'environments/dev.yaml'), 'utf8')).toBe('compose: []\n');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('node_modules\n/.pier\n\n# added by pier init\nenvironments/*.env\n');
    const again = applyPlan(dir, planned);
    expect(again.map((r) => r.action)).toEqual(['kept', 'kept', 'unchanged']);
  });

  it('dry run writes nothing', () => {
    const d2 = mkdtempSync(join(tmpdir(), 'pier-init-dry-'));
    expect(applyPlan(d2, planned, { dryRun: true }).map((r) => r.action)).toEqual(['created', 'created', 'created']);
    expect(() => readFileSync(join(d2, 'pier.yaml'))).toThrow();
    rmSync(d2, { recursive: true });
  });

  it('missingLines treats a leading slash or trailing slash as the same entry', () => {
    expect(missingLines('/.pier\n.env\n', ['.pier/', '.env', 'x'])).toEqual(['x']);
  });
});
