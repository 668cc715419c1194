/** The local Distribution registry pier starts for a `127.0.0.1:PORT` publish address. */
import { docker } from './client.ts';
import { EnvironmentError } from '../util/errors.ts';
import { httpGet } from '../util/http.ts';
import { poll } from '../util/poll.ts';

/**
 * Make sure a registry answers at `address` (127.0.0.1:PORT): start a Distribution registry
 * container there if none does. It outlives runs on purpose (it holds what was published), so it
 * carries `pier.registry`, not `pier.run`; another process starting it at the same time is fine.
 */
export async function ensureLocalRegistry(address: string, image: string): Promise<'running' | 'started'> {
  const url = `http://${address}/v2/`;
  const answers = async () => {
    try {
      const r = await httpGet(url, 2000);
      return r.status === 200 || r.status === 401;
    } catch {
      return false;
    }
  };
  if (await answers()) return 'running';
  const m = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(address);
  if (!m) throw new EnvironmentError(`registry ${address} does not answer`, 'start it, or set pipeline.registry.address');
  const d = docker();
  const name = `pier-registry-${m[2]}`;
  const existing = d.getContainer(name);
  const info = await existing.inspect().catch(() => undefined);
  if (info && !info.State.Running) await existing.start().catch(() => undefined);
  if (!info) {
    try {
      const c = await d.createContainer({
        name,
        Image: image,
        Labels: { 'pier.registry': address },
        ExposedPorts: { '5000/tcp': {} },
        HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: m[2] }] }, RestartPolicy: { Name: 'unless-stopped' } },
      });
      await c.start();
    } catch (err) {
      // 409: someone else created it meanwhile; fall through to waiting for it.
      if ((err as { statusCode?: number }).statusCode !== 409) {
        throw new EnvironmentError(`could not start a local registry on ${address}: ${(err as Error).message}`);
      }
    }
  }
  await poll(`local registry on ${address}`, async () => (await answers()) || undefined, {
    timeoutMs: 10_000,
    intervalMs: 200,
    onGiveUp: () => new EnvironmentError(`local registry on ${address} did not answer within 10 s`),
  });
  return 'started';
}
