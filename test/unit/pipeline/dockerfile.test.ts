import { describe, expect, it } from 'vitest';
import { mergedDockerignore, pruneTags, type ImageSummary } from '../../../src/engine/docker.ts';
import { dockerfileStages, planTargets } from '../../../src/pipeline/dockerfile.ts';
import { buildSpecs } from '../../../src/pipeline/stages/build.ts';
import { ConfigError } from '../../../src/util/errors.ts';

const app = { name: 'todo', image: 'acme/todo', context: '.', dockerfile: 'Dockerfile', targets: { test: 'test', runtime: 'runtime' }, buildArgs: {} };

describe('Dockerfile stages and targets', () => {
  it('reads named stages (case, --platform, continuation lines), not unnamed ones', () => {
    const text = 'FROM node:22 AS deps\nRUN x\nfrom --platform=$BUILDPLATFORM golang:1.22 as Build\nFROM \\\n  debian:bookworm \\\n  AS runtime\nFROM scratch\n# FROM x AS comment\n';
    expect(dockerfileStages(text)).toEqual(['deps', 'build', 'runtime']);
    expect(dockerfileStages('FROM python:3.12\nCOPY . .\n')).toEqual([]);
  });

  it('single-stage Dockerfile: final stage shipped, tests in the runtime image, one build', () => {
    const plan = planTargets([], app.targets, 'Dockerfile');
    expect(plan).toMatchObject({ runtime: undefined, test: 'runtime-image' });
    expect(plan.notes).toEqual(['Dockerfile has no "runtime" stage: building its final stage', 'Dockerfile has no "test" stage: tests run in the runtime image']);
    const specs = buildSpecs(app, '/r', '1.0.0-abc1234', undefined, true, plan);
    expect(specs).toHaveLength(1);
    expect(specs[0]!.target).toBeUndefined();
  });

  it('multi-stage with named stages keeps both targets', () => {
    const plan = planTargets(['deps', 'test', 'runtime'], app.targets, 'Dockerfile');
    expect(plan).toEqual({ runtime: 'runtime', test: 'test', notes: [] });
    expect(buildSpecs(app, '/r', 't', undefined, true, plan).map((s) => s.target)).toEqual(['runtime', 'test']);
  });

  it('a stage name the user chose that is missing is a config error naming the key and the stages', () => {
    expect(() => planTargets(['build', 'final'], { test: 'tests', runtime: 'final' }, 'Dockerfile')).toThrow(ConfigError);
    expect(() => planTargets(['build', 'final'], { test: 'tests', runtime: 'final' }, 'Dockerfile')).toThrow(/app\.targets\.test: stage "tests" is not in Dockerfile \(stages: build, final\)/);
  });
});

describe('build context excludes', () => {
  it("appends pier's excludes after the app's own rules (so a !.env cannot bring it back)", () => {
    expect(mergedDockerignore('node_modules\n!.env\n\n', ['.env', '.pier'])).toBe('node_modules\n!.env\n# added by pier: never in an image, whatever the rules above say\n.env\n.pier\n');
    expect(mergedDockerignore(undefined, ['.env'])).toBe('# added by pier: never in an image, whatever the rules above say\n.env\n');
  });
});

describe('image pruning', () => {
  const img = (id: string, created: number, kind: string, tags: string[], appName = 'todo'): ImageSummary => ({ Id: id, Created: created, RepoTags: tags, Labels: { 'pier.app': appName, 'pier.image': kind } });
  it('keeps the newest N per kind; removes only pier version tags (also registry-prefixed) of older ones', () => {
    const images = [
      img('a', 1, 'runtime', ['acme/todo:1.0.0-aaaaaaa', '127.0.0.1:5000/acme/todo:1.0.0-aaaaaaa', 'acme/todo:latest']),
      img('b', 2, 'runtime', ['acme/todo:1.0.0-bbbbbbb-dirty-a1b2c3d4e5f6']),
      img('c', 3, 'runtime', ['acme/todo:1.0.0-ccccccc']),
      img('t1', 1, 'test', ['acme/todo:1.0.0-aaaaaaa-test']),
      img('t2', 2, 'test', ['acme/todo:1.0.0-bbbbbbb-dirty-test']),
      img('other', 0, 'test', ['other/app:1.0.0-aaaaaaa-test'], 'other'),
      { Id: 'unlabelled', Created: 0, RepoTags: ['acme/todo:0.9.0-1234567'], Labels: { 'pier.app': 'todo' } },
    ];
    expect(pruneTags(images, 'todo', 2)).toEqual(['acme/todo:1.0.0-aaaaaaa', '127.0.0.1:5000/acme/todo:1.0.0-aaaaaaa']);
    expect(pruneTags(images, 'todo', 1)).toEqual(['acme/todo:1.0.0-bbbbbbb-dirty-a1b2c3d4e5f6', 'acme/todo:1.0.0-aaaaaaa', '127.0.0.1:5000/acme/todo:1.0.0-aaaaaaa', 'acme/todo:1.0.0-aaaaaaa-test']);
  });

  it("never removes this run's own tags, and counts them first among the newest", () => {
    const images = [
      img('c', 30, 'runtime', ['acme/todo:1.0.0-ccccccc']),
      img('b', 20, 'runtime', ['acme/todo:1.0.0-bbbbbbb']),
      img('a', 10, 'runtime', ['acme/todo:1.0.0-aaaaaaa']),
      img('t', 5, 'test', ['acme/todo:1.0.0-aaaaaaa-test']),
      img('t0', 4, 'test', ['acme/todo:0.9.0-9999999-test']),
    ];
    expect(pruneTags(images, 'todo', 1, { protect: ['acme/todo:1.0.0-bbbbbbb'] })).toEqual(['acme/todo:1.0.0-ccccccc', 'acme/todo:1.0.0-aaaaaaa', 'acme/todo:0.9.0-9999999-test']);
    expect(pruneTags(images, 'todo', 2, { protect: ['acme/todo:1.0.0-aaaaaaa'] })).toEqual(['acme/todo:1.0.0-bbbbbbb']);
    expect(pruneTags(images, 'todo', 1)).toEqual(['acme/todo:1.0.0-bbbbbbb', 'acme/todo:1.0.0-aaaaaaa', 'acme/todo:0.9.0-9999999-test']);
  });

  it('orders by when pier built an image, not its Created time (a build wholly from cache keeps its first date)', () => {
    // v1, v2, broken, fixed were built in that order today; BuildKit dated them by layers from last week,
    // where the fixed sources happened to be built first.
    const images = [
      img('v1', 300, 'runtime', ['acme/todo:1.0.0-1111111']),
      img('v2', 400, 'runtime', ['acme/todo:1.1.0-2222222']),
      img('broken', 500, 'runtime', ['acme/todo:1.1.0-3333333']),
      img('fixed', 100, 'runtime', ['acme/todo:1.1.0-4444444']),
      img('stale', 50, 'runtime', ['127.0.0.1:5000/acme/todo:0.1.0-5555555']),
    ];
    const builtAt = { v1: 900_000, v2: 901_000, broken: 902_000, fixed: 903_000 }; // ms; Created is in seconds
    expect(pruneTags(images, 'todo', 3, { builtAt })).toEqual(['acme/todo:1.0.0-1111111', '127.0.0.1:5000/acme/todo:0.1.0-5555555']);
    // By Created alone the fixed image would be the one to go.
    expect(pruneTags(images, 'todo', 3)).toEqual(['acme/todo:1.1.0-4444444', '127.0.0.1:5000/acme/todo:0.1.0-5555555']);
  });
});
