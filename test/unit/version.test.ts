import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { combinedVersion } from '../../src/source/version.ts';

describe('combinedVersion', () => {
  it('follows sorted id=version lines', () => {
    const expected = createHash('sha256').update('a=1111\nb=2222\n').digest('hex').slice(0, 16);
    expect(combinedVersion({ b: '2222', a: '1111' })).toBe(expected);
  });

  it('does not depend on key insertion order', () => {
    const one = combinedVersion({ roads: 'aaaa', 'europe/water': 'bbbb', cities: 'cccc' });
    const two = combinedVersion({ cities: 'cccc', roads: 'aaaa', 'europe/water': 'bbbb' });
    expect(one).toBe(two);
    expect(one).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each<[string, Record<string, string>]>([
    ['one version changes', { roads: 'aaab', cities: 'cccc' }],
    ['a tileset is added', { roads: 'aaaa', cities: 'cccc', water: 'dddd' }],
    ['a tileset is removed', { roads: 'aaaa' }],
    ['a tileset is renamed', { road: 'aaaa', cities: 'cccc' }],
    ['two versions swap ids', { roads: 'cccc', cities: 'aaaa' }],
  ])('changes when %s', (_name, changed) => {
    expect(combinedVersion(changed)).not.toBe(combinedVersion({ roads: 'aaaa', cities: 'cccc' }));
  });

  it('is the digest of nothing for no tilesets', () => {
    expect(combinedVersion({})).toBe(createHash('sha256').digest('hex').slice(0, 16));
  });
});
