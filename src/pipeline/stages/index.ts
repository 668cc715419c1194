/**
 * The stage registry: every pipeline stage declared once, in run order. The runner (order,
 * selection, the report's stage list), the single-stage CLI verbs (`pier <stage>`: command table,
 * help) and the Dagger module (a test checks it has a function per stage) all read this list.
 *
 * Adding a stage: write `stages/<name>.ts` exporting its `Stage` function, add an entry below,
 * and a function to the Dagger module (dagger/src/index.ts) named as `dagger` says.
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
  /** The Dagger module function that runs this stage (dagger/src/index.ts). */
  dagger: string;
  /** The stage function, given the names of the stages this run selected. */
  load(): Promise<(selected: readonly string[]) => Stage>;
}

const stage = <const N extends string>(def: StageDef<N>) => def;

export const STAGES = [
  stage({
    name: 'build',
    summary: "build the app's runtime image (tagged semver + git sha)",
    needs: [],
    dagger: 'build',
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
    dagger: 'test',
    load: async () => {
      const { testStage } = await import('./test.ts');
      return () => testStage;
    },
  }),
  stage({
    name: 'scan',
    summary: 'build, then scan the image with trivy against the policy in pier.yaml',
    needs: ['build'],
    dagger: 'scan',
    load: async () => {
      const { scanStage } = await import('./scan.ts');
      return () => scanStage;
    },
  }),
  stage({
    name: 'loadtest',
    summary: 'build, then serve the image and load-test it against the SLOs in pier.yaml',
    needs: ['build'],
    dagger: 'loadTest',
    load: async () => {
      const { loadtestStage } = await import('./loadtest.ts');
      return () => loadtestStage;
    },
  }),
  stage({
    name: 'publish',
    summary: 'build, then push the image to the configured registry and record its digest',
    needs: ['build'],
    dagger: 'publish',
    load: async () => {
      const { publishStage } = await import('./publish.ts');
      return () => publishStage;
    },
  }),
];

export type StageName = (typeof STAGES)[number]['name'];
export const STAGE_NAMES: readonly StageName[] = STAGES.map((s) => s.name);

export function stageDef(name: StageName): (typeof STAGES)[number] {
  return STAGES.find((s) => s.name === name)!;
}
