// The redactor at its edges: what must be masked and, as much, what must stay visible (a redactor
// masking every string would pass a test that only looks for `***`). Length limits exactly at
// their values, every encoded form, secret-looking keys of objects, and the stream's chunking.
import { beforeEach, describe, expect, it } from 'vitest';
import { base64Forms, clearSecrets, redact, redactObject, registerSecret, secretForms, StreamRedactor } from '../../../src/util/redact.ts';

beforeEach(() => clearSecrets());

describe('which values are matched', () => {
  it('values under 3 characters are not registered; 3 characters are', () => {
    registerSecret('ab');
    registerSecret('');
    registerSecret(undefined);
    expect(redact('ab cd ab')).toBe('ab cd ab');
    registerSecret('xyz');
    expect(redact('ab xyz ab')).toBe('ab *** ab');
    // Nor any encoded form of a value that short (its URL encoding is longer than 3).
    registerSecret('é1');
    expect(redact('q=%C3%A91 é1')).toBe('q=%C3%A91 é1');
    expect(secretForms('ab')).toEqual([]);
  });

  it('a secret under 8 characters only outside words; from 8 also inside them', () => {
    registerSecret('abc1234');
    expect(redact('xabc1234y abc1234 (abc1234)')).toBe('xabc1234y *** (***)');
    registerSecret('qwer5678');
    expect(redact('xqwer5678y')).toBe('x***y');
  });

  it('clearSecrets forgets every value; registering one twice is harmless', () => {
    registerSecret('hunter2-pass');
    registerSecret('hunter2-pass');
    expect(redact('pw hunter2-pass')).toBe('pw ***');
    clearSecrets();
    expect(redact('pw hunter2-pass')).toBe('pw hunter2-pass');
  });

  it('empty text, and text without any secret, come back unchanged', () => {
    registerSecret('s3cr3t-value');
    expect(redact('')).toBe('');
    expect(redact('deploy web-1 to production: 3 hosts, 0 failed')).toBe('deploy web-1 to production: 3 hosts, 0 failed');
  });

  it('URL credentials are masked without registering, the rest of the URL stays', () => {
    expect(redact('GET https://ci:t0k3n@git.example.com/org/repo.git failed')).toBe('GET https://ci:***@git.example.com/org/repo.git failed');
    expect(redact('see https://example.com/a@b and user@example.com')).toBe('see https://example.com/a@b and user@example.com');
  });
});

describe('the forms a secret travels in', () => {
  it('as written, URL-encoded (%20 and +), JSON-escaped', () => {
    expect(secretForms('pa ss"word1').slice(0, 4)).toEqual(['pa ss"word1', 'pa%20ss%22word1', 'pa+ss%22word1', 'pa ss\\"word1']);
    registerSecret('pa ss"word1');
    expect(redact('a=pa%20ss%22word1 b=pa+ss%22word1 c={"p":"pa ss\\"word1"} d=pa ss"word1')).toBe('a=*** b=*** c={"p":"***"} d=***');
  });

  it('each line of a multi-line value from 3 characters; shorter lines stay visible', () => {
    registerSecret('ok\n-----BEGIN-----\r\nAAAABBBBCCCC\n  xy \nzq9');
    expect(secretForms('ok\n-----BEGIN-----\r\nAAAABBBBCCCC\n  xy \nzq9')).toContain('AAAABBBBCCCC');
    expect(redact('status ok; got AAAABBBBCCCC and -----BEGIN----- xy, zq9')).toBe('status ok; got *** and *** xy, ***');
    // A line of 2 characters padded with spaces is still 2 characters.
    expect(redact('got (  xy ) here')).toBe('got (  xy ) here');
  });

  it('a multi-line value is replaced whole where it appears whole', () => {
    registerSecret('line-one-x\nline-two-y');
    expect(redact('k=line-one-x\nline-two-y;')).toBe('k=***;');
  });

  it('base64: URL-safe alphabet too, and the whole encoding with its padding', () => {
    // "~~~???" is fn5+Pz8/ in standard base64, fn5-Pz8_ in the URL-safe alphabet.
    expect(base64Forms('~~~???')).toEqual(['fn5+Pz8/', 'fn5-Pz8_', 'fn5+Pz8/']);
    registerSecret('~~~???');
    expect(redact('std fn5+Pz8/ url fn5-Pz8_ end')).toBe('std *** url *** end');
    // "abcdefg" is YWJjZGVmZw==: the padding goes with it.
    registerSecret('abcdefg');
    expect(redact('auth YWJjZGVmZw== end')).toBe('auth *** end');
  });

  it('base64 at another byte offset (one byte before it) is found from 8 encoded characters', () => {
    registerSecret('abcdefg');
    // ":abcdefg" -> OmFiY2RlZmc=; the characters that depend on "abcdefg" only are FiY2RlZm.
    expect(base64Forms('abcdefg')).toContain('FiY2RlZm');
    expect(redact('Basic OmFiY2RlZmc=')).not.toContain('FiY2RlZm');
  });

  it('a 5-byte secret has no base64 form of 8 characters: its encoding is not matched (it would match by chance)', () => {
    expect(base64Forms('abcde')).toEqual([]);
    registerSecret('abcde');
    expect(redact('YWJjZGU= abcde')).toBe('YWJjZGU= ***');
  });
});

describe('redactObject', () => {
  it('masks secret-looking keys (dbPass, api_key, privateKey...), keeps everything else visible', () => {
    const out = redactObject({
      dbPass: 'x1',
      api_key: 'k',
      privateKey: 'pk',
      GITHUB_TOKEN: 'ghp_1',
      DB_PASSWORD: '',
      passwordFile: '/run/secrets/db',
      tokenEnv: 'GITHUB_TOKEN',
      secretFilename: 'hunter2',
      region: 'prod',
      port: 3000,
      token: 42,
      enabled: true,
      nothing: null,
      nested: { clientSecret: 'cs', name: 'api' },
      list: [{ secret: 's' }, 'plain'],
    });
    expect(out).toEqual({
      dbPass: '***',
      api_key: '***',
      privateKey: '***',
      GITHUB_TOKEN: '***',
      DB_PASSWORD: '',
      passwordFile: '/run/secrets/db',
      tokenEnv: 'GITHUB_TOKEN',
      secretFilename: '***',
      region: 'prod',
      port: 3000,
      token: 42,
      enabled: true,
      nothing: null,
      nested: { clientSecret: '***', name: 'api' },
      list: [{ secret: '***' }, 'plain'],
    });
  });

  it('redacts registered values in any string, keeps the rest of it', () => {
    registerSecret('abcd1234');
    expect(redactObject({ note: 'uses abcd1234 on prod', list: ['abcd1234', 'ok'] })).toEqual({ note: 'uses *** on prod', list: ['***', 'ok'] });
    expect(redactObject('abcd1234!')).toBe('***!');
    expect(redactObject(undefined)).toBeUndefined();
  });
});

describe('StreamRedactor chunking', () => {
  it('a newline first in the pending text passes on at once', () => {
    const chunks: string[] = [];
    const r = new StreamRedactor((s) => chunks.push(s));
    r.write('\n');
    expect(chunks).toEqual(['\n']);
    r.write('a');
    r.write('\nb');
    expect(chunks).toEqual(['\n', 'a\n']);
  });

  it('a long line shorter than the longest form plus one is held whole (nothing, not even an empty chunk)', () => {
    registerSecret('abcd1234'); // longest form: 12 characters (base64)
    const chunks: string[] = [];
    const r = new StreamRedactor((s) => chunks.push(s), 4);
    r.write('x'.repeat(8));
    r.write('x'.repeat(5));
    expect(chunks).toEqual([]);
    r.write('y');
    expect(chunks).toEqual(['x']);
  });

  it('the cut: before a match entirely past it, after one entirely before it, also one ending exactly at it', () => {
    registerSecret('abcd1234');
    const cut = (text: string) => {
      const chunks: string[] = [];
      new StreamRedactor((s) => chunks.push(s), 20).write(text);
      return chunks;
    };
    // 38 characters: the cut is at 25.
    expect(cut(`${'x'.repeat(30)}abcd1234`)).toEqual(['x'.repeat(25)]);
    expect(cut(`abcd1234${'x'.repeat(30)}`)).toEqual([`***${'x'.repeat(17)}`]);
    expect(cut(`${'x'.repeat(17)}abcd1234${'z'.repeat(13)}`)).toEqual([`${'x'.repeat(17)}***`]);
  });

  it('two secrets side by side, the second straddling the cut: neither leaks', () => {
    registerSecret('abcd1234');
    const chunks: string[] = [];
    const r = new StreamRedactor((s) => chunks.push(s), 20);
    // 39 characters, cut at 26: the second match (19..27) straddles it.
    r.write(`${'x'.repeat(11)}abcd1234abcd1234${'z'.repeat(12)}`);
    expect(chunks).toEqual([`${'x'.repeat(11)}***`]);
    r.end();
    expect(chunks.join('')).toBe(`${'x'.repeat(11)}******${'z'.repeat(12)}`);
  });

  it('passes whole lines on as they complete, the rest at the end, nothing empty', () => {
    registerSecret('abcd1234');
    const chunks: string[] = [];
    const r = new StreamRedactor((s) => chunks.push(s));
    r.write('one abcd');
    expect(chunks).toEqual([]);
    r.write('1234\ntwo\nthr');
    expect(chunks).toEqual(['one ***\ntwo\n']);
    r.write('ee abcd1234');
    r.end();
    r.end();
    expect(chunks).toEqual(['one ***\ntwo\n', 'three ***']);
  });

  it('holds a line up to maxLine, then passes on all but a tail that could start a secret', () => {
    registerSecret('abcd1234');
    const longest = Math.max(...secretForms('abcd1234').map((f) => f.length));
    const chunks: string[] = [];
    const r = new StreamRedactor((s) => chunks.push(s), 40);
    r.write('x'.repeat(40));
    expect(chunks).toEqual([]);
    r.write('y');
    expect(chunks).toEqual(['x'.repeat(41 - (longest + 1))]);
    r.end();
    expect(chunks.join('')).toBe(`${'x'.repeat(40)}y`);
  });

  it('never cuts a match straddling the cut: it waits whole for the next chunk', () => {
    registerSecret('abcd1234');
    const chunks: string[] = [];
    const r = new StreamRedactor((s) => chunks.push(s), 20);
    // 36 characters, a tail of 13 kept (the longest form, base64, is 12): the cut at 23 would fall
    // inside "abcd1234" (18..26), so everything before it goes and the match waits whole.
    r.write(`${'x'.repeat(18)}abcd1234${'z'.repeat(10)}`);
    expect(chunks).toEqual(['x'.repeat(18)]);
    r.end();
    expect(chunks).toEqual(['x'.repeat(18), `***${'z'.repeat(10)}`]);
    expect(chunks.every((c) => !c.includes('abcd') && !c.includes('1234'))).toBe(true);
  });
});
