import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { tileHash } from '../../src/source/tile-hash.ts';

const BYTES = Buffer.from('a tile');
const SHA256 = createHash('sha256').update(BYTES).digest('hex').slice(0, 16);

describe('tileHash: the first 16 lowercase hex digits of the SHA-256 of the stored bytes', () => {
  it('hashes the bytes', () => {
    expect(tileHash({ data: BYTES })).toBe(SHA256);
    expect(tileHash({ data: Buffer.from('another tile') })).not.toBe(SHA256);
  });
});
