/** What every stage receives: an Engine (never Docker directly), the config and the run's state. */
import type { Config } from '../config/schema.ts';
import type { BuiltImage, Engine } from '../engine/types.ts';
import type { Progress } from './progress.ts';
import type { StageName, StageStatus } from './report.ts';

export interface PipelineOptions {
  /** Scan becomes `skipped` (not exit 3) when no trivy can be obtained. */
  allowMissingScanner?: boolean;
  /** Host CA bundle passed to builds as secret `ca` (default: the system bundle when present). */
  caFile?: string;
  /** Today's date for `.trivyignore` expiry (tests). */
  today?: string;
  /** Extra env for the load-test app (tests: FAIL_RATE). Merged over app.env. */
  serveEnv?: Record<string, string>;
}

export interface StageContext {
  engine: Engine;
  config: Config;
  runId: string;
  runDir: string;
  progress: Progress;
  options: PipelineOptions;
  /** Filled by earlier stages. */
  state: { version?: string; tag?: string; runtime?: BuiltImage; testImage?: BuiltImage };
  /** Engine-specific preparation the runner supplies (e.g. start a local registry). */
  hooks: { prepareRegistry?(address: string): Promise<void> };
  signal: AbortSignal;
  /** Files written for the report (sarif, html). */
  files: Record<string, string>;
  notes: string[];
}

export interface StageOutcome {
  status: StageStatus;
  reason?: string;
  figures: Record<string, unknown>;
}

export type Stage = (ctx: StageContext) => Promise<StageOutcome>;
export type { StageName };
