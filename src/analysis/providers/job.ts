/**
 * Job: a command (argv, no shell) run on the deploying machine; `exit_code` is the measurement
 * (and `result`: 1 when it exited 0, else 0). A command that cannot start or is killed at its
 * timeout is a provider error.
 */
import { exec } from '../../util/exec.ts';
import type { Values } from '../condition.ts';
import type { Provider } from './types.ts';

export function jobProvider(o: { command: string[]; timeoutSeconds: number; env?: NodeJS.ProcessEnv; cwd?: string }): Provider {
  return {
    key: `job:${JSON.stringify(o.command)}`,
    label: `job ${o.command.join(' ')}`,
    async measure(signal): Promise<Values> {
      const r = await exec(o.command, { nothrow: true, timeoutMs: o.timeoutSeconds * 1000, signal, env: o.env, cwd: o.cwd });
      if (r.code === null) throw new Error(`${o.command.join(' ')}: killed after ${o.timeoutSeconds}s`);
      return { exit_code: r.code, result: r.code === 0 ? 1 : 0 };
    },
  };
}
