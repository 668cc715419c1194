// The runner's control flow with an in-memory Engine (pure logic: no Docker here; the real
// engines are covered by the conformance suite and the integration tests).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PierFile, type Config } from '../../../src/config/schema.ts';
import type { Engine, RunResult } from '../../../src/engine/types.ts';
import { EnvironmentError } from '../../../src/util/errors.ts';
import type { Progress } from '../../../src/pipeline/progress.ts';
import { runPipeline, selectStages } from '../../../src/pipeline/runner.ts';

const quiet: Progress = { start() {}, live() {}, note() {}, end() {} };

function setup(run: (cmd: string[]) => RunResult | Promise<RunResult>) {
  const root = mkdtempSync(join(tmpdir(), 'pier-runner-'));
  writeFileSync(join(root, 'package.json'), '{"version":"0.3.0"}');
  writeFileSync(join(root, 'Dockerfile'), 'FROM base AS test\nFROM base AS runtime\n');
  const config: Config = {
    ...PierFile.parse({ app: { name: 'a', image: 'x/a', port: 3000, test: { command: ['npm', 'test'] } } }),
    root,
    file: join(root, 'pier.yaml'),
  };
  const calls: string[] = [];
  const engine: Engine = {
    name: 'docker',
    runId: 'r1',
    build: async (s) => (calls.push(`build ${s.target}`), { ref: s.tags[0]!, target: s.target }),
    run: async (s) => (calls.push(`run ${s.command.join(' ')}`), run(s.command)),
    serve: async () => {
      throw new Error('not used');
    },
    exportTarball: async (_i, f) => f,
    publish: async (s) => (calls.push(`publish ${s.address}`), { ref: s.address, digest: `sha256:${'0'.repeat(64)}` }),
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
  return { config, engine, calls, runDir: join(root, '.pier', 'runs', 'r1') };
}

describe('runPipeline', () => {
  it('a failing test stops the run: exit 1, later stages skipped with the reason, none of them called', async () => {
    const s = setup(() => ({ exitCode: 1, stdout: '# tests 2\n# pass 1\n# fail 1\n', stderr: '', files: {} }));
    const r = await runPipeline({ ...s, selection: selectStages(), progress: quiet });
    expect(r.exitCode).toBe(1);
    expect(r.status).toBe('failed');
    expect(r.stages.map((x) => `${x.name}:${x.status}`)).toEqual(['build:passed', 'test:failed', 'scan:skipped', 'loadtest:skipped', 'publish:skipped']);
    expect(r.stages[2]!.reason).toBe('not run: test failed');
    expect(r.stages[1]!.figures).toEqual({ tests: 2, pass: 1, fail: 1, exitCode: 1 });
    expect(s.calls).toEqual(['build runtime', 'build test', 'run npm test']);
  });

  it('an environment failure is exit 3 with the hint in the reason', async () => {
    const s = setup(() => {
      throw new EnvironmentError('sidecar postgres did not become healthy', 'check the image');
    });
    const r = await runPipeline({ ...s, selection: selectStages(['test']), progress: quiet });
    expect(r.exitCode).toBe(3);
    expect(r.stages[1]).toMatchObject({ name: 'test', status: 'failed', reason: 'sidecar postgres did not become healthy\nhint: check the image' });
  });

  it('build + publish only: tags semver-nogit outside git, records the digest', async () => {
    const s = setup(() => ({ exitCode: 0, stdout: '', stderr: '', files: {} }));
    const r = await runPipeline({ ...s, selection: selectStages(['publish']), progress: quiet, hooks: { prepareRegistry: async (a) => void s.calls.push(`registry ${a}`) } });
    expect(r.exitCode).toBe(0);
    expect(s.calls).toEqual(['build runtime', 'registry 127.0.0.1:5000', 'publish 127.0.0.1:5000/x/a:0.3.0-nogit']);
    expect(r.stages[4]!.figures).toEqual({ image: '127.0.0.1:5000/x/a:0.3.0-nogit', digest: `sha256:${'0'.repeat(64)}` });
  });
});
