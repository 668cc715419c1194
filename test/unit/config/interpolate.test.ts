// Compose-style interpolation in every form (`${VAR-default}` with VAR unset among them), deep in
// objects and lists; the edit distance behind "did you mean" and its tie and length rules.
import { describe, expect, it } from 'vitest';
import { interpolate, interpolateString } from '../../../src/config/interpolate.ts';
import { distance, nearest } from '../../../src/config/suggest.ts';

describe('interpolation forms', () => {
  it.each([
    ['${A-d}', {}, 'd'],
    ['${A-d}', { A: 'v' }, 'v'],
    ['${A-}', {}, ''],
    ['${A:-d}', { A: 'v' }, 'v'],
    ['${A:-}', {}, ''],
    ['${A}', {}, ''],
    ['a$$b $$$$', {}, 'a$b $$'],
    ['${A}-${B:-b}-${C-c}', { A: 'a' }, 'a-b-c'],
    ['$A ${1A} ${A', { A: 'x' }, '$A ${1A} ${A'],
  ])('%s with %o -> %s', (src, vars, out) => expect(interpolateString(src, vars)).toBe(out));

  it('walks objects and lists; other values pass through', () => {
    expect(interpolate({ image: '${IMG-node}:${TAG:-22}', ports: ['${P}', 80], nested: { on: true, none: null, s: '${X-}' } }, { P: '3000' })).toEqual({
      image: 'node:22',
      ports: ['3000', 80],
      nested: { on: true, none: null, s: '' },
    });
    expect(interpolate(7, {})).toBe(7);
    expect(interpolate(undefined, {})).toBeUndefined();
  });
});

describe('edit distance and suggestions', () => {
  it.each([
    ['kitten', 'sitting', 3],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['a', 'abc', 2],
    ['abc', 'abx', 1],
    ['ab', 'ba', 2],
    ['Port', 'port', 0],
    ['same', 'same', 0],
  ])('distance(%s, %s) = %i', (a, b, d) => expect(distance(a, b)).toBe(d));

  it('a tie goes to the first candidate; none without candidates', () => {
    expect(nearest('pot', ['port', 'post'])).toBe('port');
    expect(nearest('pot', ['post', 'port'])).toBe('post');
    expect(nearest('port', [])).toBeUndefined();
  });

  it('up to 2 edits, or a third of the word for long words', () => {
    expect(nearest('pt', ['port'])).toBe('port');
    expect(nearest('xyz', ['port'])).toBeUndefined();
    // 12 letters: up to 4 edits.
    expect(nearest('abcdefghijkl', ['abcdxxxxijkl'])).toBe('abcdxxxxijkl');
    expect(nearest('abcdefghijkl', ['abcdxxxxxjkl'])).toBeUndefined();
    expect(nearest('abcdefghi', ['abcxyzghi'])).toBe('abcxyzghi');
    expect(nearest('abcdefgh', ['abcxyzgh'])).toBeUndefined();
  });
});
