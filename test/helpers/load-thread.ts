/**
 * The body of `startLoadThread` (load.ts): the same fixed-rate load, on its own thread, so the
 * process under test (a deploy in the benchmark) cannot delay the client's requests or its clock.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startLoad } from './load.ts';

const { port, rps, opts } = workerData as { port: number; rps: number; opts: Parameters<typeof startLoad>[2] };
const load = startLoad(port, rps, opts);
parentPort!.once('message', () => {
  void load.stop().then((r) => parentPort!.postMessage(r));
});
parentPort!.postMessage('started');
