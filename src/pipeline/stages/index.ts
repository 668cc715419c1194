/**
 * The stage registry: every pipeline stage declared once, in run order. The runner (order,
 * selection, the report's stage list), the single-stage CLI verbs (`pier <stage>`: command table,
 * help) and the Dagger module's functions (dagger/src/index.ts, generated from this list by
 * `npx tsx dagger/vendor.ts`) all come from it.
 *
 * Adding a stage: write `stages/<name>.ts` exporting its `Stage` function, add an entry below,
 * then run `npx tsx dagger/vendor.ts` (`--check`, and a test, fail until you do).
 *
 * Stage code loads on demand (`load`), so reading this list costs the CLI nothing.
 */
import type { Stage } from '../context.ts';

export interface StageDef<N extends string = string> {
  name: N;
  /** One line: the `pier <name>` command table entry and the first line of its help. */
  summary: string;
  /** Stages whose results this one reads; selecting it selects them too (`--only`, `pier <name>`). */
  needs: readonly string[];
  /** The Dagger module function that runs this stage (generated into dagger/src/index.ts). */
  dagger: DaggerFunctionDef;
  /** The stage function, given the names of the stages this run selected. */
  load(): Promise<(selected: readonly string[]) => Stage>;
}

/**
 * How a stage appears in the Dagger module: `dagger call <name>` runs the stage (and what it needs)
 * through the CLI's runner on the Dagger engine.
 */
export interface DaggerFunctionDef {
  /** Function name (camelCase; `dagger call` spells it kebab-case). */
  name: string;
  /**
   * What it returns: `container` the runtime image the run built (chainable: `build publish`),
   * `summary` the run's human summary, `image` the stage's `image` figure (`ref@sha256:digest`).
   */
  returns: 'container' | 'summary' | 'image';
  /** Extra arguments: `registry` = address, username, password (a Secret). */
  args?: 'registry';
  /** Never cached by the engine: the stage acts outside its inputs (a push) or measures (a load test). */
  uncached?: boolean;
  /** The function's description (`dagger functions`), then `Example:` lines (without `dagger call`). */
  doc: string;
  examples: readonly string[];
}

const stage = <const N extends string>(def: StageDef<N>) => def;
/** `load` of a stage that does not depend on the selection. */
const plain = (load: () => Promise<Stage>) => async () => {
  const fn = await load();
  return () => fn;
};

export const STAGES = [
  stage({
    name: 'build',
    summary: "build the app's runtime image (tagged semver + git sha)",
    needs: [],
    dagger: {
      name: 'build',
      returns: 'container',
      doc: "Build the app's runtime image from pier.yaml (Dockerfile target, build args) and return it.",
      examples: ['build publish --address=ttl.sh/pier-example-api:1h', 'build as-service up --ports=8080:3000'],
    },
    // The test target is built only when the test stage will run.
    load: async () => {
      const { buildStage } = await import('./build.ts');
      return (selected) => (ctx) => buildStage(ctx, selected.includes('test'));
    },
  }),
  stage({
    name: 'test',
    summary: "build, then run the app's tests in its test target next to its sidecars",
    needs: ['build'],
    dagger: {
      name: 'test',
      returns: 'summary',
      doc: "Build the test target and run the app's test command next to its sidecars (PostgreSQL, Redis).",
      examples: ['test'],
    },
    load: plain(async () => (await import('./test.ts')).testStage),
  }),
  stage({
    name: 'scan',
    summary: 'build, then scan the image with trivy against the policy in pier.yaml',
    needs: ['build'],
    dagger: {
      name: 'scan',
      returns: 'summary',
      doc: "Scan the runtime image with the pinned trivy image (DB in a cache volume) and apply pier's policy.",
      examples: ['scan'],
    },
    load: plain(async () => (await import('./scan.ts')).scanStage),
  }),
  stage({
    name: 'loadtest',
    summary: 'build, then serve the image and load-test it against the SLOs in pier.yaml',
    needs: ['build'],
    dagger: {
      name: 'loadTest',
      returns: 'summary',
      uncached: true,
      doc: 'Serve the image with its sidecars as Dagger services and load-test it against the SLO gates.',
      examples: ['load-test'],
    },
    load: plain(async () => (await import('./loadtest.ts')).loadtestStage),
  }),
  stage({
    name: 'publish',
    summary: 'build, then push the image to the configured registry and record its digest',
    needs: ['build'],
    dagger: {
      name: 'publish',
      returns: 'image',
      args: 'registry',
      uncached: true,
      doc: 'Build and push the runtime image; returns `ref@sha256:digest`. `address` is the registry host[:port].',
      examples: ['publish --address=registry.example.com --username=ci --password=env://REGISTRY_PASSWORD'],
    },
    load: plain(async () => (await import('./publish.ts')).publishStage),
  }),
];

export type StageName = (typeof STAGES)[number]['name'];
export const STAGE_NAMES: readonly StageName[] = STAGES.map((s) => s.name);

export function stageDef(name: StageName): (typeof STAGES)[number] {
  return STAGES.find((s) => s.name === name)!;
}
