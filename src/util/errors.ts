/**
 * Error types that carry pier's exit-code contract:
 * 0 success; 1 a gate said no; 2 bad usage or invalid configuration; 3 the environment failed.
 */
export const ExitCode = { ok: 0, gate: 1, usage: 2, environment: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class PierError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags or arguments on the command line. */
export class UsageError extends PierError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/** One problem in a configuration file, located as precisely as the source allows. */
export interface ConfigIssue {
  file: string;
  line?: number;
  col?: number;
  /** Dotted key path such as `pipeline.loadtest.slo.p95Ms` or `hosts[1].port`. */
  path: string;
  message: string;
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line ? `${i.file}:${i.line}:${i.col ?? 1}` : i.file;
  return `${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** Invalid configuration: every issue found, reported together. */
export class ConfigError extends PierError {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      issues.length === 1
        ? `invalid configuration: ${formatIssue(issues[0]!)}`
        : `invalid configuration (${issues.length} problems):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
      ExitCode.usage,
    );
  }
}

/** A gate said no: tests failed, a scan or an SLO over threshold, a deploy rolled back. */
export class GateError extends PierError {
  constructor(message: string) {
    super(message, ExitCode.gate);
  }
}

/** The environment failed: no Docker engine, SSH down, a tool missing. */
export class EnvironmentError extends PierError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.environment, hint);
  }
}

/** A child process failed: carries its argv, exit code and output (zx-style). */
export class ProcessError extends PierError {
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const tail = (stderr || stdout).trim().split('\n').slice(-15).join('\n');
    super(`command failed (exit ${code}): ${argv.join(' ')}${tail ? `\n${tail}` : ''}`, ExitCode.environment);
  }
}
