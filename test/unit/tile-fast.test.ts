import { describe, expect, it } from 'vitest';
import { matchesIfNoneMatch } from '../../src/http/etag.ts';
import { plainVersion } from '../../src/http/tile-fast.ts';

describe('plainVersion: the hot path reads only `v=…` alone; anything else goes the general way (null)', () => {
  it.each<[string, string | undefined | null]>([
    ['', undefined],
    ['v=abc123', 'abc123'],
    ['v=', ''],
    ['v=a.b_c-d', 'a.b_c-d'],
    ['v=a&v=b', null],
    ['v=a&x=1', null],
    ['x=1', null],
    ['v=%61', null],
    ['v=a+b', null],
    ['v=a=b', null],
    ['V=abc', null],
    ['vv=abc', null],
    ['v', null],
    ['v=abc#', null],
    ['v=abc#frag', null],
  ])('%j → %j', (query, expected) => {
    expect(plainVersion(query)).toBe(expected);
  });
});

describe('matchesIfNoneMatch (as Koa ctx.fresh decides it)', () => {
  it.each<[string, string | undefined, string, boolean]>([
    ['"abc"', undefined, '"abc"', true],
    ['"abd"', undefined, '"abc"', false],
    ['W/"abc"', undefined, '"abc"', true],
    ['"x", "abc"', undefined, '"abc"', true],
    ['"x","y"', undefined, '"abc"', false],
    ['*', undefined, '"abc"', true],
    ['"abc"', 'no-cache', '"abc"', false],
    ['"abc"', 'max-age=0, no-cache', '"abc"', false],
    ['"abc"', 'max-age=0', '"abc"', true],
    ['abc', undefined, '"abc"', false],
  ])('If-None-Match %j, Cache-Control %j, ETag %j → %j', (header, cacheControl, etag, expected) => {
    expect(matchesIfNoneMatch(header, cacheControl, etag)).toBe(expected);
  });
});
