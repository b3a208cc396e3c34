import { describe, expect, it } from 'vitest';
import { HashManifests, parseManifestPath } from '../../src/http/hash-manifest-routes.ts';
import { blockHashes } from '../../src/source/hash-manifest.ts';
import { tileHash } from '../../src/source/tile-hash.ts';
import type { Tile, TileSource } from '../../src/source/tile-source.ts';

/** A source with a tile at every coordinate of zooms 0–9 (bytes: its own path), at `version`. */
function everywhere(version: string): TileSource & { reads: number } {
  const source = {
    id: 't',
    format: 'png' as const,
    version,
    info: {
      name: 't',
      minzoom: 0,
      maxzoom: 9,
      bounds: [-180, -85, 180, 85] as [number, number, number, number],
      center: [0, 0, 0] as [number, number, number],
    },
    reads: 0,
    getTile(z: number, x: number, y: number): Tile {
      source.reads++;
      return { data: Buffer.from(`${z}/${x}/${y}`), contentType: 'image/png', encoding: undefined };
    },
    intact: () => true,
    close() {},
  };
  return source;
}

describe('parseManifestPath', () => {
  it.each<[string, ReturnType<typeof parseManifestPath>]>([
    ['roads/hashes/5/3/2.json', { id: 'roads', z: '5', x: '3', y: '2' }],
    ['sub/roads/hashes/0/0/0.json', { id: 'sub/roads', z: '0', x: '0', y: '0' }],
    ['a/b/c/hashes/0/0/0.json', undefined],
    ['roads/hashes/5/3/2.png', undefined],
    ['roads/5/3/2.json', undefined],
    ['roads/hashes/5/3/.json', { id: 'roads', z: '5', x: '3', y: '' }],
    ['roads/hashes//3/2.json', undefined],
    ['hashes/5/3/2.json', undefined],
  ])('%j → %j', (rest, expected) => {
    expect(parseManifestPath(rest)).toEqual(expected);
  });
});

describe('blockHashes', () => {
  it('lists zooms z … z+4 below the block, and gives the loop a turn after every 4 rows of a column', async () => {
    let turns = 0;
    const tiles = await blockHashes(everywhere('v1'), { z: 5, x: 1, y: 2 }, async () => {
      turns++;
    });
    expect(Object.keys(tiles)).toHaveLength(1 + 4 + 16 + 64 + 256);
    expect(tiles['5/1/2']).toBe(tileHash({ data: Buffer.from('5/1/2') }));
    expect(tiles['9/31/47']).toBe(tileHash({ data: Buffer.from('9/31/47') }));
    expect(tiles['9/32/47']).toBeUndefined();
    expect(turns).toBe(1 + 2 + 4 + 8 * 2 + 16 * 4);
  });

  it('stops at the last zoom of the tileset', async () => {
    const tiles = await blockHashes(everywhere('v1'), { z: 5, x: 0, y: 0 }, async () => {});
    expect(Object.keys(tiles).filter((k) => k.startsWith('9/'))).toHaveLength(256);
    const shallow = { ...everywhere('v1'), info: { ...everywhere('v1').info, maxzoom: 6 } };
    expect(Object.keys(await blockHashes(shallow, { z: 5, x: 0, y: 0 }, async () => {}))).toHaveLength(1 + 4);
  });
});

describe('HashManifests', () => {
  it('builds a block once, per version, and keeps no more than its capacity', async () => {
    const manifests = new HashManifests(2);
    const v1 = everywhere('v1');
    const [a, b] = await Promise.all([manifests.body(v1, { z: 0, x: 0, y: 0 }), manifests.body(v1, { z: 0, x: 0, y: 0 })]);
    expect(a).toBe(b);
    expect(v1.reads).toBe(341);
    expect(JSON.parse(a).version).toBe('v1');
    // The same block under another version is another manifest.
    const v2 = everywhere('v2');
    expect(JSON.parse(await manifests.body(v2, { z: 0, x: 0, y: 0 })).version).toBe('v2');
    await manifests.body(v1, { z: 5, x: 0, y: 0 });
    expect(manifests.size).toBe(2);
    // The least recently used (v1's block 0) went: asked again, it is read again.
    await manifests.body(v1, { z: 0, x: 0, y: 0 });
    expect(v1.reads).toBe(341 + 341 + 341);
  });
});
