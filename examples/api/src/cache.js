// A small JSON cache over an ioredis client. Callers treat every failure as a miss.

/**
 * @typedef {{ status: string, get(key: string): Promise<string | null>, set(key: string, value: string, mode: 'EX', seconds: number): Promise<unknown>, del(key: string): Promise<number>, ping(): Promise<string> }} RedisLike
 * @typedef {ReturnType<typeof createCache>} Cache
 */

/**
 * @param {RedisLike} redis  configured with enableOfflineQueue: false, so commands fail at once
 *   while disconnected instead of queueing (a down cache must not stall requests)
 */
export function createCache(redis) {
  return {
    /** @param {string} key @returns {Promise<unknown | undefined>} */
    async getJson(key) {
      const raw = await redis.get(key);
      return raw === null ? undefined : JSON.parse(raw);
    },
    /** @param {string} key @param {unknown} value @param {number} ttlSeconds */
    async setJson(key, value, ttlSeconds) {
      await redis.set(key, JSON.stringify(value), 'EX', ttlSeconds);
    },
    /** @param {string} key */
    async del(key) {
      await redis.del(key);
    },
    /** For /health: fails with the connection state when not connected. */
    async ping() {
      if (redis.status !== 'ready') throw new Error(`not connected (${redis.status})`);
      const pong = await redis.ping();
      if (pong !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(pong)}`);
    },
  };
}
