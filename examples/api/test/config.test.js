import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, databaseUrl, parseConfig } from '../src/config.js';

const BASE = { DATABASE_URL: 'postgres://api:secret@db:5432/api', REDIS_URL: 'redis://cache:6379' };

test('defaults: port 3000, version from package, no failures, info logs', () => {
  assert.deepEqual(parseConfig(BASE, '1.2.3'), {
    port: 3000,
    databaseUrl: BASE.DATABASE_URL,
    redisUrl: BASE.REDIS_URL,
    version: '1.2.3',
    failRate: 0,
    delayMs: 0,
    shutdownTimeoutMs: 10_000,
    logLevel: 'info',
    migrateOnStart: false,
  });
});

test('every setting is read', () => {
  const c = parseConfig(
    { ...BASE, PORT: '8080', APP_VERSION: 'v2', FAIL_RATE: '0.25', DELAY_MS: '50', SHUTDOWN_TIMEOUT_MS: '2000', LOG_LEVEL: 'WARN', MIGRATE_ON_START: '1' },
    '1.0.0',
  );
  assert.equal(c.port, 8080);
  assert.equal(c.version, 'v2');
  assert.equal(c.failRate, 0.25);
  assert.equal(c.delayMs, 50);
  assert.equal(c.shutdownTimeoutMs, 2000);
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.migrateOnStart, true);
});

for (const [name, value, expected] of [
  ['PORT', 'abc', /PORT: expected an integer from 1 to 65535, got "abc"/],
  ['PORT', '70000', /PORT: expected an integer/],
  ['FAIL_RATE', '1.5', /FAIL_RATE: expected a number from 0 to 1/],
  ['FAIL_RATE', '-0.1', /FAIL_RATE: expected a number from 0 to 1/],
  ['FAIL_RATE', 'lots', /FAIL_RATE: expected a number from 0 to 1/],
  ['SHUTDOWN_TIMEOUT_MS', '1.5', /SHUTDOWN_TIMEOUT_MS: expected an integer/],
  ['LOG_LEVEL', 'loud', /LOG_LEVEL: expected one of debug, info, warn, error, silent/],
  ['MIGRATE_ON_START', 'maybe', /MIGRATE_ON_START: expected 1\/true\/yes/],
  ['REDIS_URL', 'http://cache', /REDIS_URL: expected a redis: or rediss: URL/],
]) {
  test(`malformed ${name}=${value} names the variable`, () => {
    assert.throws(() => parseConfig({ ...BASE, [name]: value }, '1'), (err) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.match(err.message, expected);
      return true;
    });
  });
}

test('missing DATABASE_URL or REDIS_URL is an error naming it', () => {
  assert.throws(() => parseConfig({ REDIS_URL: BASE.REDIS_URL }, '1'), /DATABASE_URL: required but not set/);
  assert.throws(() => parseConfig({ DATABASE_URL: BASE.DATABASE_URL }, '1'), /REDIS_URL: required but not set/);
});

test('an unparsable URL is reported without echoing it (it may hold a password)', () => {
  assert.throws(
    () => databaseUrl({ DATABASE_URL: 'postgres://api:hunter2@@:not a url' }),
    (err) => err instanceof ConfigError && err.variable === 'DATABASE_URL' && !err.message.includes('hunter2'),
  );
});
