import Docker from 'dockerode';
import { EnvironmentError } from '../util/errors.ts';

let client: Docker | undefined;

/** The boundary where dockerode enters: one client for the local engine (DOCKER_HOST honoured). */
export function docker(): Docker {
  client ??= new Docker();
  return client;
}

/** Fail with exit 3 and a way forward when no engine answers. */
export async function assertEngine(): Promise<void> {
  try {
    await docker().ping();
  } catch (err) {
    throw new EnvironmentError(`no Docker engine answers (${(err as Error).message})`, 'run `npm run setup` to install and start one');
  }
}
