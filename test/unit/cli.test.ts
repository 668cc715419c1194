import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stageHelp } from '../../src/cli/stage.ts';
import { verbs } from '../../src/cli/verbs.ts';
import { STAGE_NAMES, STAGES, type StageName } from '../../src/pipeline/stages/index.ts';
import { repoRoot } from '../helpers/paths.ts';

const pier = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/pier.js'), ...args], { cwd: repoRoot, encoding: 'utf8' });

describe('pier CLI', () => {
  it('--help lists every implemented verb and nothing else', () => {
    const r = pier('--help');
    expect(r.status).toBe(0);
    const listed = [...r.stdout.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]);
    expect(listed).toEqual(Object.keys(verbs));
  });
  it('--version prints package.json version', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    expect(pier('--version').stdout.trim()).toBe(version);
  });
  it('unknown verb and unknown flag exit 2', () => {
    expect(pier('nope').status).toBe(2);
    const r = pier('config', '--bogus');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown option '--bogus'/);
  });
});

describe('command table', () => {
  it('loads every verb module on demand, and its summary matches the module\'s own', async () => {
    for (const name of Object.keys(verbs)) {
      if (STAGE_NAMES.includes(name as StageName)) continue; // from the stage registry (below)
      const mod = (await import(`../../src/cli/${name}.ts`)) as { run?: unknown; help?: unknown; summary?: string };
      expect(typeof mod.run, name).toBe('function');
      expect(typeof mod.help, name).toBe('string');
      if (mod.summary) expect(verbs[name]!.summary, name).toBe(mod.summary);
    }
  });

  it('has one verb per registered stage, its summary and help from the registry', () => {
    const names = Object.keys(verbs);
    for (const s of STAGES) {
      expect(names, s.name).toContain(s.name);
      expect(verbs[s.name]!.summary).toBe(s.summary);
      expect(stageHelp(s.name)).toMatch(new RegExp(`^Usage: pier ${s.name} \\[--config FILE\\]`));
    }
    // Stage verbs keep pipeline order right after `ci`.
    expect(names.slice(0, STAGES.length + 1)).toEqual(['ci', ...STAGE_NAMES]);
  });
});
