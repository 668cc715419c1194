// Graceful shutdown: stop accepting, let in-flight requests finish, close pools, exit.

/**
 * @typedef {object} ShutdownDeps
 * @property {import('node:http').Server} server
 * @property {{ shuttingDown: boolean, inFlight: number }} state  shared with the app
 * @property {() => Promise<void>} closeResources  pg pool, redis
 * @property {number} timeoutMs  hard exit (code 1) if draining takes longer
 * @property {import('./log.js').Logger} logger
 * @property {(code: number) => void} [exit]
 */

/**
 * Returns the signal handler. The first signal starts draining; later ones are ignored (the
 * hard timeout still bounds the wait).
 * @param {ShutdownDeps} deps
 * @returns {(signal: string) => Promise<void>}
 */
export function createShutdown({ server, state, closeResources, timeoutMs, logger, exit = (code) => process.exit(code) }) {
  return async function shutdown(signal) {
    if (state.shuttingDown) return;
    state.shuttingDown = true;
    logger.info('shutdown started', { signal, inFlight: state.inFlight });
    const hard = setTimeout(() => {
      logger.error('shutdown timed out', { timeoutMs, inFlight: state.inFlight });
      exit(1);
    }, timeoutMs);
    hard.unref();

    // server.close() stops accepting and resolves once every connection has ended. Responses
    // sent while draining carry `Connection: close`, so their sockets end after them; a
    // keep-alive socket already idle (or one whose response began before the signal) is closed
    // here and on a short poll, rather than waiting out keepAliveTimeout.
    /** @type {Promise<void>} */
    const closed = new Promise((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const poll = setInterval(() => server.closeIdleConnections(), 50);
    await closed;
    clearInterval(poll);
    try {
      await closeResources();
    } catch (err) {
      logger.warn('closing resources failed', { error: err instanceof Error ? err.message : String(err) });
    }
    clearTimeout(hard);
    logger.info('shutdown complete', { signal });
    exit(0);
  };
}
