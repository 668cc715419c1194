// npm run bench:env: seconds from `up` to every service healthy, for the dev stack (the root
// compose.yaml, as `docker compose up` reads it) and the staging stack (with its production image
// already present: building it is the pipeline's time, not the environment's). Fresh volumes
// each time, so PostgreSQL initialises its data directory inside the measured window.
// Progress on stderr; the last line on stdout is the JSON result.
//   BENCH_RUNS=3 npm run bench:env   # median of 3 runs per stack
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.ts';
import { ensureAppImages } from '../src/compose/image.ts';
import { ComposeStack } from '../src/compose/stack.ts';
import { newRunId } from '../src/util/run-id.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
const work = mkdtempSync(join(tmpdir(), 'pier-bench-env-'));
const stagingEnv = join(work, 'staging.env');
writeFileSync(stagingEnv, `POSTGRES_PASSWORD=${randomBytes(18).toString('base64url')}\nSTAGING_HTTP_PORT=\n`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x * 100) / 100;

async function measure(kind: 'dev' | 'staging'): Promise<number> {
  const runId = newRunId();
  const env = { ...process.env, PIER_RUN: runId, PIER_PID: String(process.pid), PIER_HOST: hostname(), API_PORT: '' };
  const target =
    kind === 'dev'
      ? { project: `pier-bench-dev-${runId}`, files: [join(root, 'compose.yaml')], envFiles: [] }
      : { project: `pier-bench-stg-${runId}`, files: [join(root, 'compose/staging.yaml')], envFiles: [join(root, '.env'), stagingEnv] };
  const stack = new ComposeStack(target, { env, cwd: root });
  try {
    if (kind === 'staging') await ensureAppImages(loadConfig({ cwd: root }), target, { env, onProgress: (l) => console.error(`  ${l}`) });
    else await stack.compose(['build', '--quiet'], { env }); // build outside the measured window too
    const { seconds } = await stack.up({ timeoutMs: 180_000 });
    console.error(`${kind}: all healthy in ${seconds.toFixed(2)} s`);
    return seconds;
  } finally {
    await stack.down({ volumes: true });
  }
}

try {
  const dev: number[] = [];
  const staging: number[] = [];
  for (let i = 0; i < runs; i++) {
    dev.push(await measure('dev'));
    staging.push(await measure('staging'));
  }
  console.log(JSON.stringify({ bench: 'env', dev_up_s: round(median(dev)), staging_up_s: round(median(staging)), runs, dev_runs_s: dev.map(round), staging_runs_s: staging.map(round) }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
