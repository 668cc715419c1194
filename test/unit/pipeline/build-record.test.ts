import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecordPath, readBuildTimes, recordBuilds, REMEMBERED, withBuilds } from '../../../src/pipeline/build-record.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'pier-builds-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('build record', () => {
  it('remembers the last build time per image id, per app; a rebuild moves an image to now', () => {
    const root = tmp();
    recordBuilds(root, 'todo', ['sha256:a', 'sha256:b'], 1000);
    recordBuilds(root, 'other', ['sha256:x'], 1500);
    recordBuilds(root, 'todo', ['sha256:a'], 2000);
    expect(readBuildTimes(root)).toEqual({ todo: { 'sha256:a': 2000, 'sha256:b': 1000 }, other: { 'sha256:x': 1500 } });
    expect(readFileSync(buildRecordPath(root), 'utf8')).toContain('"sha256:a": 2000');
    expect(buildRecordPath('/src/app')).toBe('/src/app/.pier/builds.json');
  });

  it('keeps the newest REMEMBERED entries of an app', () => {
    let t = {};
    for (let i = 0; i < REMEMBERED + 5; i++) t = withBuilds(t, 'todo', [`id${i}`], i);
    const kept = Object.keys((t as Record<string, Record<string, number>>).todo!);
    expect(kept).toHaveLength(REMEMBERED);
    expect(kept).not.toContain('id4');
    expect(kept).toContain('id5');
  });

  it('a missing or corrupt record reads as empty (it only refines an order) and is rewritten whole', () => {
    const root = tmp();
    expect(readBuildTimes(root)).toEqual({});
    mkdirSync(join(root, '.pier'));
    writeFileSync(buildRecordPath(root), '{"todo": {"sha256:a": 1');
    expect(readBuildTimes(root)).toEqual({});
    recordBuilds(root, 'todo', ['sha256:b'], 5);
    expect(readBuildTimes(root)).toEqual({ todo: { 'sha256:b': 5 } });
  });
});
