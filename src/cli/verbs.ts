/**
 * The command table. One file per verb under src/cli/; each exports `run(argv)` and `help`.
 * Only verbs that exist are listed: nothing here is a stub.
 */
import * as config from './config.ts';
import * as reap from './reap.ts';

export interface Verb {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const withHelp = (summary: string, m: { run(argv: string[]): Promise<number> }): Verb => ({ summary, run: m.run });

export const verbs: Record<string, Verb> = {
  config: withHelp('validate and print the resolved configuration (secrets redacted)', config),
  reap: withHelp('remove containers, networks and volumes left by crashed pier runs', reap),
};
