import { describe, expect, it } from 'vitest';
import { CachedTileSource } from '../../src/source/cached-source.ts';
import { MISSING, TileCache, tileKey } from '../../src/source/tile-cache.ts';
import { tileHash } from '../../src/source/tile-hash.ts';
import type { Tile, TileSource } from '../../src/source/tile-source.ts';

const tile = (bytes: number, fill = 1): Tile => ({
  data: Buffer.alloc(bytes, fill),
  contentType: 'application/x-protobuf',
  encoding: undefined,
});

/** A source that counts its reads and can be told which bytes it holds. */
function countingSource(tiles: Map<string, Tile>) {
  let reads = 0;
  let closed = false;
  const source: TileSource = {
    id: 't',
    format: 'pbf',
    info: { name: 't', minzoom: 0, maxzoom: 5, bounds: [-180, -85, 180, 85], center: [0, 0, 0] },
    version: 'v1',
    getTile(z, x, y) {
      reads += 1;
      const found = tiles.get(`${z}/${x}/${y}`);
      return found && { ...found };
    },
    intact: () => true,
    close() {
      closed = true;
    },
  };
  return { source, reads: () => reads, closed: () => closed };
}

/** Fills more than half of a cache with another owner's tiles (from then on, admission is on the second request); that owner. */
function fillHalf(cache: TileCache) {
  const filler = cache.newOwner();
  const size = Math.floor(cache.maxBytes / 64); // a quarter of a segment of a cache under 16 MiB: kept
  for (let i = 0; i < 33; i++) cache.set(filler, i, tile(size));
  expect(cache.stats().bytes).toBeGreaterThan(cache.maxBytes / 2);
  return filler;
}

/** The cache, more than half full (fillHalf). */
function halfFull(cache: TileCache): TileCache {
  fillHalf(cache);
  return cache;
}

describe('TileCache', () => {
  it('stays within its byte budget and counts evictions', () => {
    const cache = new TileCache(64 * 1024);
    const owner = cache.newOwner();
    for (let i = 0; i < 100; i++) cache.set(owner, tileKey(5, i, 0), tile(2000));
    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(stats.entries).toBeGreaterThan(5);
    expect(stats.evictions).toBe(100 - stats.entries);
  });

  it('keeps what is asked for and drops what is not (least recently used out)', () => {
    const cache = new TileCache(8 * 4096); // 8 segments of 4 KiB, 4 tiles of 1000 B each
    const owner = cache.newOwner();
    for (let i = 0; i < 32; i++) cache.set(owner, `k${i}`, tile(1000));
    cache.get(owner, 'k0'); // the oldest, but in use
    for (let i = 32; i < 36; i++) cache.set(owner, `k${i}`, tile(1000));
    expect(cache.get(owner, 'k0')).toBeDefined();
    expect(cache.get(owner, 'k1')).toBeUndefined();
  });

  it('never keeps a tile larger than a quarter of a segment, nor lets the largest kept one flush the rest', () => {
    const cache = new TileCache(8 * 4096); // 8 segments of 4 KiB: tiles up to 1 KiB kept
    const owner = cache.newOwner();
    cache.set(owner, 'huge', tile(1025));
    expect(cache.get(owner, 'huge')).toBeUndefined();
    for (let i = 0; i < 80; i++) cache.set(owner, i, tile(200)); // 160 fit
    for (let i = 0; i < 80; i++) cache.get(owner, i); // all asked for
    for (let i = 80; i < 160; i++) cache.set(owner, i, tile(200)); // full, half of it hot
    cache.set(owner, 'largest', tile(1024)); // 4 segments of hot tiles compacted (flags cleared): no room yet
    expect(cache.get(owner, 'largest')).toBeUndefined();
    cache.set(owner, 'largest', tile(1024)); // as at its next miss: a cold segment makes room
    expect(cache.get(owner, 'largest')).toBeDefined();
    expect(cache.stats().evictions).toBeLessThanOrEqual(20); // one segment of cold tiles, no more
    const hot = Array.from({ length: 80 }, (_, i) => cache.get(owner, i)).filter((t) => t !== undefined);
    expect(hot.length).toBe(80);
  });

  it('remembers holes', () => {
    const cache = new TileCache(10_000);
    const owner = cache.newOwner();
    cache.set(owner, 'hole', MISSING);
    expect(cache.get(owner, 'hole')).toBe(MISSING);
  });

  it('forgets every entry of an owner that closes, and only those', () => {
    const cache = new TileCache(1 << 20);
    const [a, b] = [cache.newOwner(), cache.newOwner()];
    cache.set(a, 'a1', tile(100));
    cache.set(a, 'a2', MISSING);
    cache.set(b, 'b1', tile(100));
    cache.dropOwner(a);
    expect([cache.get(a, 'a1'), cache.get(a, 'a2')]).toEqual([undefined, undefined]);
    expect(cache.get(b, 'b1')).toBeDefined();
    expect(cache.stats().entries).toBe(1);
  });
});

describe('CachedTileSource', () => {
  it('keeps each tile (and each hole) from its second request on, with its content hash', () => {
    const { source, reads } = countingSource(new Map([['1/0/0', tile(10)]]));
    const cached = new CachedTileSource(source, halfFull(new TileCache(1 << 20)));
    expect(cached.getTile(1, 0, 0)?.hash).toBe(tileHash(tile(10)));
    expect(cached.getTile(1, 1, 0)).toBeUndefined();
    expect(reads()).toBe(2); // asked for once: read and forgotten
    const kept = cached.getTile(1, 0, 0);
    expect(kept?.hash).toBe(tileHash(tile(10)));
    for (let i = 0; i < 5; i++) {
      expect(cached.getTile(1, 0, 0)).toEqual(kept);
      expect(cached.getTile(1, 1, 0)).toBeUndefined();
    }
    expect(reads()).toBe(4);
  });

  it('keeps every tile at its first request while the cache is less than half full, again once a close emptied it', () => {
    const cache = new TileCache(1 << 20);
    const inner = countingSource(
      new Map([
        ['1/0/0', tile(10)],
        ['1/0/1', tile(20)],
      ]),
    );
    const cached = new CachedTileSource(inner.source, cache);
    const twice = (x: number, y: number, times = 2) => {
      for (let i = 0; i < times; i++) cached.getTile(1, x, y);
    };
    twice(0, 0);
    twice(1, 0); // a hole
    expect(inner.reads()).toBe(2);
    const filler = fillHalf(cache);
    twice(0, 1, 3);
    expect(inner.reads()).toBe(4); // beyond half: kept from the second request
    cache.dropOwner(filler); // as a swap closes the tileset that filled the cache
    twice(1, 1);
    expect(inner.reads()).toBe(5);
  });

  it('gives a new instance over the same cache none of the old instance bytes (a swap starts empty)', () => {
    const cache = new TileCache(1 << 20);
    const tiles = new Map([['0/0/0', tile(10, 1)]]);
    const first = new CachedTileSource(countingSource(tiles).source, cache);
    first.getTile(0, 0, 0);
    expect(first.getTile(0, 0, 0)?.data[0]).toBe(1);
    tiles.set('0/0/0', tile(10, 2));
    const second = new CachedTileSource(countingSource(tiles).source, cache);
    expect(second.getTile(0, 0, 0)?.data[0]).toBe(2);
    expect(second.getTile(0, 0, 0)?.data[0]).toBe(2);
    expect(first.getTile(0, 0, 0)?.data[0]).toBe(1);
  });

  it('closing it closes the source and frees its entries', () => {
    const cache = new TileCache(1 << 20);
    const inner = countingSource(new Map([['0/0/0', tile(500)]]));
    const cached = new CachedTileSource(inner.source, cache);
    cached.getTile(0, 0, 0);
    cached.getTile(0, 0, 0);
    expect(cache.stats().bytes).toBeGreaterThan(500);
    cached.close();
    expect(inner.closed()).toBe(true);
    expect(cache.stats()).toMatchObject({ bytes: 0, entries: 0 });
  });
});

describe('tileKey', () => {
  it('gives every tile of zooms 0-26 its own exact number, and deeper tiles a string', () => {
    const seen = new Set<number | string>();
    for (let z = 0; z <= 4; z++) for (let x = 0; x < 2 ** z; x++) for (let y = 0; y < 2 ** z; y++) seen.add(tileKey(z, x, y));
    expect(seen.size).toBe((4 ** 5 - 1) / 3); // 341 tiles, 341 keys
    const last = 2 ** 26 - 1;
    expect(tileKey(26, last, last)).toBe((4 ** 27 - 1) / 3 - 1);
    expect(Number.isSafeInteger(tileKey(26, last, last))).toBe(true);
    expect(tileKey(26, last, last - 1)).toBe((tileKey(26, last, last) as number) - 2 ** 26);
    expect(tileKey(27, 5, 6)).toBe('27/5/6');
  });
});

describe('TileCache admission', () => {
  it('admits a key the second time it is offered, and forgets keys offered once long ago', () => {
    const cache = halfFull(new TileCache(1024 * 4096)); // remembers 1024 keys offered once
    const owner = cache.newOwner();
    expect(cache.admits(owner, 'a')).toBe(false);
    expect(cache.admits(owner, 'a')).toBe(true);
    expect(cache.admits(owner, 'a')).toBe(false); // admitted: offered again only once evicted
    for (let i = 0; i < 1024; i++) cache.admits(owner, `k${i}`);
    expect(cache.admits(owner, 'a')).toBe(false);
    expect(cache.admits(owner, 'k1023')).toBe(true);
  });

  it('counts the same z/x/y of two sources as two tiles', () => {
    const cache = halfFull(new TileCache(1024 * 4096));
    const [a, b] = [cache.newOwner(), cache.newOwner()];
    const key = tileKey(14, 8000, 5000);
    expect(cache.admits(a, key)).toBe(false);
    expect(cache.admits(b, key)).toBe(false); // b's first request, not a's second
    expect(cache.admits(b, key)).toBe(true);
    expect(cache.admits(a, key)).toBe(true);
  });
});

describe('TileCache under churn', () => {
  it('keeps its counts and budget through many evictions, with closed owners in between', () => {
    const cache = new TileCache(100 * 1200);
    let owner = cache.newOwner();
    for (let i = 0; i < 5000; i++) {
      const key = i % 700;
      if (cache.get(owner, key) === undefined) cache.set(owner, key, tile(1000 + (i % 7) * 10));
      if (i % 3 === 0) cache.get(owner, (i * 7) % 700);
      if (i % 1500 === 1499) {
        cache.dropOwner(owner);
        expect(cache.stats()).toMatchObject({ bytes: 0, entries: 0 });
        owner = cache.newOwner();
      }
      expect(cache.stats().bytes).toBeLessThanOrEqual(100 * 1200);
    }
    const live = new Set(Array.from({ length: 700 }, (_, i) => i).filter((k) => cache.get(owner, k) !== undefined));
    const { entries, hits, misses } = cache.stats();
    expect(live.size).toBe(entries);
    expect(entries).toBeGreaterThan(50);
    expect(hits + misses).toBeGreaterThan(5000);
  });
});

describe('TileCache bytes', () => {
  /** A tile whose every byte says which key and which write it is, so a mix-up cannot pass unseen. */
  const stamped = (key: number, write: number, bytes: number): Tile => {
    const data = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) data[i] = (key * 31 + write * 7 + i) & 0xff;
    return { data, contentType: `type/${key % 3}`, encoding: key % 2 ? 'gzip' : undefined, hash: `h${key}.${write}` };
  };

  it('answers every hit with exactly the bytes last kept under that key, through compactions, drops and closes', () => {
    const cache = new TileCache(64 * 1024); // 8 segments of 8 KiB
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const owners = [cache.newOwner(), cache.newOwner()];
    const model = owners.map(() => new Map<number, Tile | typeof MISSING>());
    let hits = 0;
    for (let i = 0; i < 20_000; i++) {
      const o = random(2);
      const owner = owners[o] as ReturnType<TileCache['newOwner']>;
      const key = random(120);
      const kept = cache.get(owner, key);
      const expected = model[o]?.get(key);
      if (kept !== undefined) {
        hits += 1;
        expect(expected).toBeDefined();
        if (kept === MISSING) expect(expected).toBe(MISSING);
        else {
          // Buffer.equals: toEqual compares byte by byte through the matcher, 100 times slower
          if (expected === undefined || expected === MISSING) throw new Error(`hit on ${key}: ${String(expected)} kept`);
          expect(kept.data.equals(expected.data)).toBe(true);
          expect({ ...kept, data: 0 }).toEqual({ ...expected, data: 0 });
        }
      }
      if (random(3) === 0 || kept === undefined) {
        // sizes from 0 to past the largest kept (2 KiB): empty tiles, holes and refused tiles too
        const tile = random(10) === 0 ? MISSING : stamped(key, i, random(10) === 0 ? random(8) : random(2200));
        cache.set(owner, key, tile);
        // the model forgets what the cache may have evicted: only its answers are checked
        model[o]?.set(key, tile);
      }
      if (i % 4999 === 4998) {
        cache.dropOwner(owner);
        owners[o] = cache.newOwner();
        model[o] = new Map();
      }
      expect(cache.stats().bytes).toBeLessThanOrEqual(64 * 1024);
    }
    expect(hits).toBeGreaterThan(2000);
    // what the counts say is kept is what answers
    let answering = 0;
    for (const owner of owners) for (let key = 0; key < 120; key++) if (cache.get(owner, key) !== undefined) answering += 1;
    expect(cache.stats().entries).toBe(answering);
  });

  it('gives each hit bytes of its own: later inserts and compactions never change them, nor do writes to them', () => {
    const cache = new TileCache(64 * 1024); // 8 segments of 8 KiB
    const owner = cache.newOwner();
    cache.set(owner, 1, stamped(1, 0, 1000));
    cache.get(owner, 1); // asked for: survives its segment's compaction by moving
    const before = cache.get(owner, 1);
    if (before === undefined || before === MISSING) throw new Error('tile 1 not kept');
    before.data.fill(0); // the caller's copy, not the cache's
    const held = cache.get(owner, 1);
    for (let key = 2; key < 200; key++) cache.set(owner, key, stamped(key, 0, 900));
    expect(held).toEqual(stamped(1, 0, 1000));
    expect(cache.stats().evictions).toBeGreaterThan(100);
  });
});
