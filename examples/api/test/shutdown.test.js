// Graceful shutdown over a real HTTP server: in-flight requests finish, new ones are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { createApp } from '../src/app.js';
import { createShutdown } from '../src/shutdown.js';
import { fakeDeps } from './support/fakes.js';

/** GET over a fresh keep-alive connection; resolves with status and headers or the error code. */
function get(/** @type {number} */ port, /** @type {string} */ path, /** @type {import('node:http').Agent | false} */ agent = false) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body }));
    });
    req.on('error', (err) => resolve({ error: /** @type {any} */ (err).code ?? err.message }));
    req.end();
  });
}

test('SIGTERM-style shutdown: in-flight requests complete, idle keep-alive closes, resources close, exit 0', async () => {
  const deps = fakeDeps({ config: { delayMs: 300 } }); // every item request takes 300 ms
  const server = createServer(createApp(deps));
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());

  // An idle keep-alive connection, which must not hold the shutdown open.
  const { Agent } = await import('node:http');
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal(/** @type {any} */ (await get(port, '/version', keepAlive)).status, 200);

  const inflight = Array.from({ length: 5 }, () => get(port, '/items'));
  let resourcesClosed = false;
  /** @type {number | undefined} */
  let exitCode;
  const exited = new Promise((resolve) => {
    const shutdown = createShutdown({
      server,
      state: deps.state,
      timeoutMs: 5000,
      logger: deps.logger,
      closeResources: async () => {
        resourcesClosed = true;
      },
      exit: (code) => {
        exitCode = code;
        resolve(undefined);
      },
    });
    // Signal once all five are being served.
    const wait = setInterval(() => {
      if (deps.state.inFlight === 5) {
        clearInterval(wait);
        void shutdown('SIGTERM');
      }
    }, 5);
  });
  const t0 = Date.now();
  await exited;
  /** @type {any[]} */
  const results = await Promise.all(inflight);
  const refused = await get(port, '/items');

  assert.equal(exitCode, 0);
  assert.equal(resourcesClosed, true);
  assert.equal(results.length, 5);
  for (const r of results) {
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.connection, 'close');
  }
  assert.deepEqual(refused, { error: 'ECONNREFUSED' });
  assert.ok(Date.now() - t0 < 2000, `drain took ${Date.now() - t0} ms (idle keep-alive must not hold it)`);
  assert.ok(deps.logLines.some((l) => l.msg === 'shutdown started' && l.inFlight === 5));
  keepAlive.destroy();
});

test('the hard timeout exits 1 when a request never finishes', async () => {
  const deps = fakeDeps({ config: { delayMs: 1000 } }); // longer than the 200 ms hard timeout
  const server = createServer(createApp(deps));
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const pending = get(port, '/items');
  while (deps.state.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
  const code = await new Promise((resolve) => {
    const shutdown = createShutdown({ server, state: deps.state, timeoutMs: 200, logger: deps.logger, closeResources: async () => {}, exit: resolve });
    void shutdown('SIGTERM');
  });
  assert.equal(code, 1);
  assert.ok(deps.logLines.some((l) => l.msg === 'shutdown timed out'));
  server.closeAllConnections();
  await pending;
});
