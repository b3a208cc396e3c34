import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFLATE_BYTES_PER_TURN, zlibDeflate, zlibDeflateYielding } from '../../src/sprites/deflate.ts';
import { countTurns } from '../helpers/turns.ts';

function pseudoRandom(length: number, sparse: boolean): Uint8Array {
  let seed = 12345;
  return new Uint8Array(length).map(() => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return sparse && seed % 5 !== 0 ? 0 : seed % 256;
  });
}

describe('zlibDeflate', () => {
  it.each([
    ['empty', new Uint8Array()],
    ['one byte', Uint8Array.of(7)],
    ['all 255 (long runs)', new Uint8Array(100_000).fill(255)],
    ['random', pseudoRandom(70_000, false)],
    ['sparse, as sprite sheets are', pseudoRandom(300_000, true)],
    ['repeats farther than the window', new Uint8Array(120_000).map((_, i) => (i % 40_000) % 251)],
  ])('round-trips through zlib: %s', (_, data) => {
    expect(new Uint8Array(inflateSync(zlibDeflate(data)))).toEqual(data);
  });

  it('compresses transparent space', () => {
    expect(zlibDeflate(new Uint8Array(1_000_000)).length).toBeLessThan(10_000);
  });

  it('gives the event loop a turn every DEFLATE_BYTES_PER_TURN bytes, for the same bytes', async () => {
    const data = pseudoRandom(4 * DEFLATE_BYTES_PER_TURN + 1000, true);
    const { result: yielded, turns } = await countTurns(() => zlibDeflateYielding(data));
    expect(turns).toBeGreaterThanOrEqual(4);
    expect(yielded).toEqual(zlibDeflate(data));
  });
});
