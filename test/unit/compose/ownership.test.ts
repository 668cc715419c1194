import { describe, expect, it } from 'vitest';
import { assertOwnProject, foreignContainers, inspectLabelsArgv, parseInspectLines, projectContainersArgv, type ProjectContainer } from '../../../src/compose/ownership.ts';
import { UsageError } from '../../../src/util/errors.ts';
import type { ExecResult } from '../../../src/util/exec.ts';

const WD = 'com.docker.compose.project.working_dir';
const own = { app: 'notes', workingDir: '/repos/notes' };

describe('compose project ownership', () => {
  it('another app (pier.app) or, without that label, another directory is foreign; our own containers are not', () => {
    const list: ProjectContainer[] = [
      { name: 'notes-dev-app-1', labels: { 'pier.app': 'notes', [WD]: '/repos/notes' } },
      { name: 'notes-dev-db-1', labels: { [WD]: '/repos/notes' } },
      { name: 'pier-dev-api-1', labels: { 'pier.app': 'example-api', [WD]: '/src/pier/compose' } },
      { name: 'dev-web-1', labels: { [WD]: '/elsewhere' } },
      { name: 'bare', labels: {} },
    ];
    expect(foreignContainers(list, own).map((c) => [c.name, c.owner])).toEqual([
      ['pier-dev-api-1', 'app example-api (/src/pier/compose)'],
      ['dev-web-1', 'compose files in /elsewhere'],
    ]);
  });

  it('parses docker inspect lines (names without the slash, null labels)', () => {
    expect(parseInspectLines('{"name":"/a","labels":{"x":"1"}}\n{"name":"/b","labels":null}\n')).toEqual([
      { name: 'a', labels: { x: '1' } },
      { name: 'b', labels: {} },
    ]);
    expect(projectContainersArgv('notes-dev')).toEqual(['docker', 'ps', '--all', '--quiet', '--no-trunc', '--filter', 'label=com.docker.compose.project=notes-dev']);
    expect(inspectLabelsArgv(['id1'])).toEqual(['docker', 'inspect', '--format', '{"name":{{json .Name}},"labels":{{json .Config.Labels}}}', 'id1']);
  });

  it('refuses (exit 2) naming the containers and their owner; an empty or own project passes', async () => {
    const runner = (ps: string, inspect: string) => async (argv: string[]): Promise<ExecResult> => ({ argv, code: 0, stdout: argv[1] === 'ps' ? ps : inspect, stderr: '' });
    await expect(assertOwnProject(runner('', ''), 'notes-dev', own, 'down')).resolves.toBeUndefined();
    await expect(assertOwnProject(runner('id1\n', '{"name":"/notes-dev-app-1","labels":{"pier.app":"notes"}}\n'), 'notes-dev', own, 'down')).resolves.toBeUndefined();
    const err = await assertOwnProject(runner('id1\n', '{"name":"/x-app-1","labels":{"pier.app":"shop"}}\n'), 'notes-dev', own, 'down').catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe('compose project notes-dev holds containers of another app: x-app-1 (app shop); pier env down would remove them, so it did nothing');
  });
});
