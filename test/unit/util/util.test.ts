import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf } from '../../../dagger/vendor.ts';
import { interpolateString } from '../../../src/config/interpolate.ts';
import { nearest } from '../../../src/config/suggest.ts';
import { isOrphan } from '../../../src/docker/reap.ts';
import { redact, redactObject, registerSecret } from '../../../src/util/redact.ts';
import { newRunId, runLabels } from '../../../src/util/run-id.ts';
import { repoRoot } from '../../helpers/paths.ts';

describe('interpolation', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A:-d}', {}, 'd'],
    ['${A:-d}', { A: '' }, 'd'],
    ['${A-d}', { A: '' }, ''],
    ['$${A}', { A: 'x' }, '${A}'],
    ['img:${TAG:-latest}', { TAG: '1.2' }, 'img:1.2'],
  ])('%s with %o -> %s', (src, vars, out) => expect(interpolateString(src, vars)).toBe(out));
});

describe('suggestions', () => {
  it('finds plausible typos only', () => {
    expect(nearest('prot', ['port', 'path'])).toBe('port');
    expect(nearest('healthcheck', ['health', 'port'])).toBeUndefined();
    expect(nearest('stratgy', ['strategy', 'batch'])).toBe('strategy');
  });
});

describe('redaction', () => {
  it('replaces registered secrets and URL credentials', () => {
    registerSecret('sup3r-secret-value');
    expect(redact('token=sup3r-secret-value end')).toBe('token=*** end');
    expect(redact('postgres://api:pw1234@db:5432/x')).toBe('postgres://api:***@db:5432/x');
  });
  it('redacts secret-looking keys deeply but keeps *Env / *File pointers', () => {
    expect(redactObject({ a: { password: 'x1', passwordEnv: 'REG_PASS', list: [{ apiKey: 'k' }] } })).toEqual({
      a: { password: '***', passwordEnv: 'REG_PASS', list: [{ apiKey: '***' }] },
    });
  });
});

describe('run ids and labels', () => {
  it('are sortable and unique', () => {
    const a = newRunId(new Date('2026-01-02T03:04:05Z'));
    expect(a).toMatch(/^20260102-030405-[0-9a-f]{4}$/);
    expect(newRunId()).not.toBe(newRunId());
    expect(runLabels('r1')).toMatchObject({ 'pier.run': 'r1', 'pier.pid': String(process.pid) });
  });
  it('reap only judges runs of this machine whose process is gone', () => {
    const self = { host: 'h1', alive: (pid: number) => pid === 42 };
    expect(isOrphan({ 'pier.run': 'r', 'pier.pid': '42', 'pier.host': 'h1' }, {}, self)).toBe(false);
    expect(isOrphan({ 'pier.run': 'r', 'pier.pid': '43', 'pier.host': 'h1' }, {}, self)).toBe(true);
    expect(isOrphan({ 'pier.run': 'r', 'pier.pid': '43', 'pier.host': 'h2' }, {}, self)).toBe(false);
    expect(isOrphan({ 'pier.run': 'r', 'pier.pid': '42', 'pier.host': 'h1' }, { all: true }, self)).toBe(true);
    expect(isOrphan({ 'pier.run': 'r' }, { runId: 'r' }, self)).toBe(true);
    expect(isOrphan({ other: 'x' }, { all: true }, self)).toBe(false);
  });
});

describe('layering', () => {
  it('src/util/ is the bottom layer: it imports only its own files, node builtins and packages', () => {
    const dir = join(repoRoot, 'src', 'util');
    const upward = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => importsOf(readFileSync(join(dir, f), 'utf8')).relative.filter((s) => !s.startsWith('./')).map((s) => `${f} -> ${s}`));
    expect(upward).toEqual([]);
  });
});
