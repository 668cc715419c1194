// The secret model and the one redactor: issue 14's defects 2 (garbling, short and encoded
// secrets missed) and 3 (secrets split across stream chunks), and the forms a secret travels in.
import { beforeEach, describe, expect, it } from 'vitest';
import { isSecretKey, secretValues, urlPassword } from '../../../src/secrets/model.ts';
import { base64Forms, clearSecrets, redact, redactObject, registerSecret, StreamRedactor } from '../../../src/util/redact.ts';

const register = (vars: Record<string, string>, declared: string[] = []) => {
  for (const v of secretValues(vars, declared)) registerSecret(v);
};

beforeEach(() => clearSecrets());

describe('secret model', () => {
  it('secret names: declared, *PASSWORD*, *SECRET*, *TOKEN*, *_KEY; plain configuration is not', () => {
    for (const k of ['DB_PASSWORD', 'SMTP_PASSWORD', 'db_pass', 'CLIENT_SECRET', 'GITHUB_TOKEN', 'API_KEY', 'STRIPE_SECRET_KEY', 'apiKey', 'DOTENV_PRIVATE_KEY_PRODUCTION']) expect(isSecretKey(k), k).toBe(true);
    for (const k of ['NODE_ENV', 'APP_REGION', 'LOG_LEVEL', 'PORT', 'DATABASE_URL', 'KEYBOARD', 'PASSED', 'hostKey', 'AUTHOR']) expect(isSecretKey(k), k).toBe(false);
    expect(isSecretKey('SESSION_SEED', ['SESSION_SEED'])).toBe(true);
  });
  it('a URL password runs to the last @ before the host', () => {
    expect(urlPassword('postgres://u:p@ss@h/db')).toBe('p@ss');
    expect(urlPassword('postgres://api:Sup3rS3cret@db:5432/api?sslmode=require')).toBe('Sup3rS3cret');
    expect(urlPassword('https://example.com/a@b')).toBeUndefined();
    expect(urlPassword('redis://:only-pass@cache:6379')).toBe('only-pass');
  });
  it('secret values: secret names and URL passwords (decoded too), never plain config', () => {
    expect(secretValues({ APP_REGION: 'prod', API_KEY: 'prod_9f8e7d6c5b4a', NODE_ENV: 'production', DATABASE_URL: 'postgres://api:p%40ss%2Fw0rd@db/api' }))
      .toEqual(['prod_9f8e7d6c5b4a', 'p%40ss%2Fw0rd', 'p@ss/w0rd']);
  });
});

describe('defect 2: redaction neither leaks nor garbles', () => {
  it('APP_REGION=prod + API_KEY=prod_9f8e7d6c5b4a: the key is redacted whole, "prod" stays', () => {
    register({ APP_REGION: 'prod', API_KEY: 'prod_9f8e7d6c5b4a' });
    expect(redact('region prod, key prod_9f8e7d6c5b4a')).toBe('region prod, key ***');
  });
  it('a short secret (SMTP_PASSWORD=q7!) is redacted in report text and JSON, but never inside a word', () => {
    register({ SMTP_PASSWORD: 'q7!' });
    expect(JSON.stringify(redactObject({ detail: 'login failed with q7! for smtp' }))).not.toContain('q7!');
    expect(redact('password="q7!"')).toBe('password="***"');
    expect(redact('aq7!b is not it')).toBe('aq7!b is not it');
  });
  it('URL-encoded, JSON-escaped and base64 forms, and each line of a multi-line value', () => {
    register({ DB_PASSWORD: 'p@ss/w0rd', TLS_KEY: '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----' });
    expect(redact('url postgres://api:p%40ss%2Fw0rd@db/api')).not.toMatch(/p%40ss|w0rd/);
    expect(redact('json {"p":"p@ss/w0rd"}')).not.toContain('w0rd');
    expect(redact(`b64 ${Buffer.from('p@ss/w0rd').toString('base64')}`)).toBe('b64 ***');
    // Inside a Basic auth header: the secret at another byte offset of a longer base64 text.
    const basic = Buffer.from('deployer:p@ss/w0rd').toString('base64');
    expect(redact(`Authorization: Basic ${basic}`)).not.toContain(base64Forms('p@ss/w0rd').find((f) => basic.includes(f)) ?? '(none)');
    expect(base64Forms('p@ss/w0rd').some((f) => basic.includes(f))).toBe(true);
    expect(redact('line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe('line: ***');
    // A registry password inside Docker's X-Registry-Auth header (base64 of JSON), echoed by an error.
    const header = Buffer.from(JSON.stringify({ username: 'ci', password: 'p@ss/w0rd', serveraddress: 'reg:5000' })).toString('base64');
    const shown = redact(`push failed (auth ${header})`);
    expect(base64Forms('p@ss/w0rd').filter((f) => shown.includes(f))).toEqual([]);
    expect(shown).toContain('***');
    expect(redact(JSON.stringify({ k: '-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----' }))).not.toContain('MIIEvQ');
  });
  it('postgres://u:p@ss@h becomes u:***@h, not u:***@ss@h (registered or not)', () => {
    expect(redact('postgres://u:p@ss@h/db')).toBe('postgres://u:***@h/db');
    register({ DATABASE_URL: 'postgres://u:p@ss@h/db' });
    expect(redact('connecting to postgres://u:p@ss@h/db')).toBe('connecting to postgres://u:***@h/db');
  });
  it('NODE_ENV=production: "to production" and "information" are printed intact (garble test)', () => {
    register({ NODE_ENV: 'production', LOG_LEVEL: 'info', APP_REGION: 'prod', PORT: '3000', API_TOKEN: 'tok_5f4e3d2c1b' });
    const text = 'deploy api 1.0.0 to production: information about prod on port 3000 (info), token tok_5f4e3d2c1b';
    expect(redact(text)).toBe('deploy api 1.0.0 to production: information about prod on port 3000 (info), token ***');
  });
  it('longest first: a secret that contains another is replaced whole', () => {
    registerSecret('abcd1234');
    registerSecret('abcd1234efgh5678');
    expect(redact('x abcd1234efgh5678 y abcd1234 z')).toBe('x *** y *** z');
  });
});

describe('defect 3: a secret split across stream chunks', () => {
  it('is redacted whatever the chunk boundaries', () => {
    registerSecret('Sup3rS3cret-canary');
    const text = 'db: connecting with Sup3rS3cret-canary\nok\nretry Sup3rS3cret-canary again\n';
    for (let cut = 1; cut < text.length; cut++) {
      let out = '';
      const r = new StreamRedactor((s) => (out += s));
      r.write(text.slice(0, cut));
      r.write(Buffer.from(text.slice(cut)));
      r.end();
      expect(out, `cut at ${cut}`).toBe('db: connecting with ***\nok\nretry *** again\n');
    }
  });
  it('a line longer than the buffer limit is passed on early, still without splitting a secret', () => {
    registerSecret('Sup3rS3cret-canary');
    const line = `${'x'.repeat(50)} Sup3rS3cret-canary ${'y'.repeat(50)} Sup3rS3cret-canary end`;
    for (let cut = 1; cut < line.length; cut += 7) {
      let out = '';
      const r = new StreamRedactor((s) => (out += s), 40);
      for (let i = 0; i < line.length; i += cut) r.write(line.slice(i, i + cut));
      r.end();
      expect(out, `chunks of ${cut}`).toBe(line.replace(/Sup3rS3cret-canary/g, '***'));
    }
  });
});
