// Prometheus metrics: request counter and duration histogram by method/route/status, the
// number of requests in flight, the database pool's connections (pier monitoring's
// DatabaseConnectionsHigh rule sums db_pool_connections over every instance), and prom-client's
// default process metrics.
import client from 'prom-client';

/**
 * @typedef {object} Metrics
 * @property {import('prom-client').Registry} registry
 * @property {(method: string, route: string, status: number, seconds: number) => void} observe
 * @property {import('prom-client').Gauge} inFlight
 */

/**
 * @typedef {object} PoolCounts  what pg.Pool exposes
 * @property {number} totalCount  open connections (idle or in use)
 * @property {number} idleCount
 * @property {number} waitingCount  clients queued for a connection
 */

/**
 * A fresh registry per app instance (tests create many apps in one process).
 * @param {{ defaultMetrics?: boolean, pool?: PoolCounts }} [opts]
 * @returns {Metrics}
 */
export function createMetrics({ defaultMetrics = true, pool } = {}) {
  const registry = new client.Registry();
  if (defaultMetrics) client.collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'];
  const requests = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const inFlight = new client.Gauge({ name: 'http_requests_in_flight', help: 'HTTP requests being served', registers: [registry] });
  if (pool) {
    // Read at scrape time: the pool's own counts, never a copy that can drift.
    new client.Gauge({ name: 'db_pool_connections', help: 'Open database connections of the pool (idle or in use)', registers: [registry], collect() { this.set(pool.totalCount); } });
    new client.Gauge({ name: 'db_pool_idle_connections', help: 'Idle database connections of the pool', registers: [registry], collect() { this.set(pool.idleCount); } });
    new client.Gauge({ name: 'db_pool_waiting_clients', help: 'Requests waiting for a database connection', registers: [registry], collect() { this.set(pool.waitingCount); } });
  }
  return {
    registry,
    inFlight,
    observe(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
  };
}
