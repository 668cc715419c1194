import { dirname, join, relative } from 'node:path';
import { findConfigFile, interpolationVars } from '../config/load.ts';
import { assertEngine } from '../docker/client.ts';
import { downByRunId, fleetImages, startFleet } from '../dev-hosts/fleet.ts';
import { fleetState, ownsEnvFile, readState, removeEnvFile, stateFile, writeEnvFile, writeState } from '../dev-hosts/state.ts';
import { EnvironmentError, UsageError } from '../util/errors.ts';
import { exec } from '../util/exec.ts';
import { commonOptions, parse } from './args.ts';
import { printJson } from './output.ts';

export const help = `Usage: pier dev-hosts up [--hosts N] [--services] [--env NAME]
       pier dev-hosts down [RUN_ID]

A simulated production fleet on this machine, to try deploys without servers: N Docker-in-Docker
hosts with sshd (default 3), a registry and a front nginx load balancer, all on 127.0.0.1 random
ports. Needs the host image from \`pier setup\`.

up      starts the fleet and stays in the foreground; Ctrl-C (or SIGTERM) removes it. Prints the
        hosts (SSH port, pinned host key), the SSH key file, the registry to push to (the hosts
        pull it as reg:5000/...) and the load balancer; also written to .pier/dev-hosts.json.
        --env NAME writes environments/NAME.yaml next to pier.yaml (never over a file of yours;
        removed again on teardown), so \`pier deploy NAME --version V\` targets the fleet.
        --services adds a PostgreSQL and a Redis on the fleet network.
down    removes a fleet whose \`up\` process died (default: the one in .pier/dev-hosts.json).`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { help: commonOptions.help, json: commonOptions.json, hosts: { type: 'string' }, services: { type: 'boolean' }, env: { type: 'string' } });
  const [sub, ...rest] = positionals;
  if (values.help) return console.log(help), 0;
  if (!sub) return console.error(help), 2;
  const cwd = process.cwd();
  if (sub === 'down') {
    const runId = rest[0] ?? readState(cwd)?.runId;
    if (!runId) throw new UsageError(`no fleet recorded in ${relative(cwd, stateFile(cwd))}`, 'pass its run id: pier dev-hosts down RUN_ID');
    await assertEngine();
    await downByRunId(runId);
    const st = readState(cwd);
    if (st?.runId === runId) removeEnvFile(st.envFile);
    console.error(`removed fleet ${runId}`);
    return 0;
  }
  if (sub !== 'up' || rest.length) throw new UsageError(`unknown dev-hosts command "${[sub, ...rest].join(' ')}"`, 'pier dev-hosts up | down');
  const count = values.hosts === undefined ? 3 : Number(values.hosts);
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new UsageError(`--hosts: expected a whole number from 1 to 9, got ${values.hosts}`);
  if (values.env !== undefined && !/^[a-z][a-z0-9-]*$/.test(values.env)) throw new UsageError(`--env: expected an environment name such as "fleet", got ${JSON.stringify(values.env)}`);
  const pierYaml = findConfigFile(cwd);
  const root = pierYaml ? dirname(pierYaml) : cwd;
  const envFile = values.env ? join(root, 'environments', `${values.env}.yaml`) : undefined;
  await assertEngine();
  const images = fleetImages(interpolationVars(root));
  if ((await exec(['docker', 'image', 'inspect', images.sshhost], { nothrow: true })).code !== 0) {
    throw new EnvironmentError(`the fleet's host image ${images.sshhost} is not in the Docker engine`, 'run `npx pier setup` (it builds it), then retry');
  }
  if (envFile && !ownsEnvFile(envFile)) throw new UsageError(`${relative(cwd, envFile)} exists and was not written by pier dev-hosts: not overwriting it`, 'pick another --env name');
  const fleet = await startFleet({ count, services: values.services, images, log: (s) => console.error(`  ${s}`) });
  const teardown = async () => {
    console.error('tearing down...');
    removeEnvFile(envFile);
    await fleet.down();
  };
  try {
    if (envFile) writeEnvFile(envFile, fleet);
    const state = fleetState(fleet, envFile);
    writeState(cwd, state);
    printJson({ ...state, services: fleet.services });
    console.error(
      `\nfleet ${fleet.runId} is up (state: ${relative(cwd, stateFile(cwd))}).` +
        `\npush images to ${state.registry}/<repo>:<tag>; hosts pull reg:5000/<repo>:<tag>` +
        (envFile ? `\ndeploy with: npx pier deploy ${values.env} --version <tag>   (${relative(cwd, envFile)})` : '\n--env NAME writes an environment file for `pier deploy NAME`') +
        `\nthen: curl ${state.loadBalancer}/\nCtrl-C (or SIGTERM) tears the fleet down.`,
    );
  } catch (err) {
    await teardown();
    throw err;
  }
  // Signal listeners alone do not keep Node alive: hold the event loop open until told to stop.
  const keepAlive = setInterval(() => undefined, 60_000);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  await teardown();
  return 0;
}
