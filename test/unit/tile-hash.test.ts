import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tileHash } from '../../src/source/tile-hash.ts';

const BYTES = Buffer.from('a tile');
const SHA256 = createHash('sha256').update(BYTES).digest('hex').slice(0, 16);

describe('tileHash: 16 lowercase hex digits of the stored bytes, or of the content hash the file stores', () => {
  it.each<[string, string | undefined, string]>([
    ['no stored id: SHA-256 of the bytes', undefined, SHA256],
    ['an MD5 id (mb-util): its first 16 digits', '9E107D9D372BB6826BD81D3542A419D6', '9e107d9d372bb682'],
    ['a SHA-1 id', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', 'da39a3ee5e6b4b0d'],
    ['a tippecanoe decimal id: written in hex', '3804503869948290691', '34cc501cd2dde683'],
    ['a small tippecanoe-like id: zero-padded', '100000000000000', '00005af3107a4000'],
    ['a 2^64 - 1 decimal id', '18446744073709551615', 'ffffffffffffffff'],
    ['a decimal id past 64 bits is not a hash: the bytes', '99999999999999999999', SHA256],
    ['a short (sequential) id: the bytes', '42', SHA256],
    ['15 hex digits are too few: the bytes', 'abcdefabcdefabc', SHA256],
  ])('%s', (_, storedId, expected) => {
    expect(tileHash({ data: BYTES, storedId })).toBe(expected);
  });
});
