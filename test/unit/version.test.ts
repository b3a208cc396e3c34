import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { combinedVersion, digestTiles, VERSION_HEX_DIGITS } from '../../src/source/version.ts';
import type { TileRow } from '../../src/storage/mbtiles.ts';

const tile = (z: number, x: number, y: number, ...data: number[]): TileRow => ({ z, x, y, data: Buffer.from(data) });

/**
 * The documented formula, written out independently: per tile a 16-byte header (z, x, y as
 * big-endian int32, byte length as big-endian uint32) and then the bytes; first 16 hex digits.
 */
function expectedVersion(tiles: readonly TileRow[]): string {
  const hash = createHash('sha256');
  for (const { z, x, y, data } of tiles) {
    const header = new DataView(new ArrayBuffer(16));
    header.setInt32(0, z, false);
    header.setInt32(4, x, false);
    header.setInt32(8, y, false);
    header.setUint32(12, data.length, false);
    hash.update(new Uint8Array(header.buffer));
    hash.update(data);
  }
  return hash.digest('hex').slice(0, 16);
}

const TILES: readonly TileRow[] = [
  tile(0, 0, 0, 0x1a, 0x02, 0x0a, 0x00),
  tile(1, 0, 1, 0x89, 0x50, 0x4e, 0x47),
  tile(1, 1, -1, 0xff), // GDAL writes rows such as -1 beyond the grid
  tile(2, 3, 0), // an empty blob
  tile(14, 8529, 10408, ...Array.from({ length: 300 }, (_, i) => i % 256)),
];

describe('digestTiles', () => {
  it('follows the documented formula, including a negative row and an empty blob', async () => {
    const result = await digestTiles(TILES);
    expect(result.version).toBe(expectedVersion(TILES));
    expect(result.version).toMatch(/^[0-9a-f]{16}$/);
    expect(VERSION_HEX_DIGITS).toBe(16);
  });

  it('counts tiles and bytes', async () => {
    expect(await digestTiles(TILES)).toMatchObject({ tiles: 5, bytes: 4 + 4 + 1 + 0 + 300 });
  });

  it('writes a negative row as a signed int32 (0xffffffff), not as another number', async () => {
    const negative = [tile(1, 1, -1, 7)];
    const asUnsigned = createHash('sha256')
      .update(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 7]))
      .digest('hex')
      .slice(0, 16);
    expect((await digestTiles(negative)).version).toBe(asUnsigned);
  });

  it('gives the digest of nothing for no tiles', async () => {
    const empty = createHash('sha256').digest('hex').slice(0, 16);
    expect(await digestTiles([])).toEqual({ version: empty, tiles: 0, bytes: 0 });
  });

  it('reads any iterable, e.g. a generator, once and in order', async () => {
    function* rows(): Generator<TileRow> {
      yield* TILES;
    }
    expect((await digestTiles(rows())).version).toBe(expectedVersion(TILES));
  });

  it('gives equal versions for equal input held in different buffers', async () => {
    const copy = TILES.map((t) => ({ ...t, data: Buffer.from(t.data) }));
    expect((await digestTiles(copy)).version).toBe((await digestTiles(TILES)).version);
  });

  const base = [tile(3, 2, 5, 1, 2, 3), tile(3, 2, 6, 4, 5)];
  it.each<[string, TileRow[]]>([
    ['one byte changed', [tile(3, 2, 5, 1, 2, 4), tile(3, 2, 6, 4, 5)]],
    ['z changed', [tile(4, 2, 5, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['x changed', [tile(3, 3, 5, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['y changed', [tile(3, 2, 4, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['y negated', [tile(3, 2, -5, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['a tile added', [...base, tile(3, 2, 7)]],
    ['an empty tile added', [...base, tile(0, 0, 0)]],
    ['a tile removed', [base[0]!]],
    ['order swapped', [base[1]!, base[0]!]],
    // Same concatenated bytes, different tile boundaries: the length in the header tells them apart.
    ['a byte moved to the next tile', [tile(3, 2, 5, 1, 2), tile(3, 2, 6, 3, 4, 5)]],
  ])('changes when %s', async (_name, changed) => {
    const before = (await digestTiles(base)).version;
    const after = (await digestTiles(changed)).version;
    expect(after).not.toBe(before);
    expect(after).toBe(expectedVersion(changed));
  });

  it('lets other work run while a slow list is digested, and still gives the same version', async () => {
    const rows = Array.from({ length: 256 }, (_, i) => tile(8, i, 255 - i, i % 256, 1, 2));
    /** Reads like a large file: about 0.2 ms per tile, 50 ms in all. */
    function* slowly(): Generator<TileRow> {
      for (const row of rows) {
        const until = performance.now() + 0.2;
        while (performance.now() < until) {
          // busy: the digest must cut this into slices itself
        }
        yield row;
      }
    }
    let otherWorkRan = false;
    setImmediate(() => {
      otherWorkRan = true;
    });
    const result = await digestTiles(slowly());
    expect(otherWorkRan).toBe(true);
    expect(result).toEqual({ version: expectedVersion(rows), tiles: 256, bytes: 256 * 3 });
  });
});

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
