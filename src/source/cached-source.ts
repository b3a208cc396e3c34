import { type CacheOwner, MISSING, type TileCache, tileKey } from './tile-cache.ts';
import { tileHash } from './tile-hash.ts';
import type { Tile, TileSource, TileSourceInfo } from './tile-source.ts';

/**
 * A serving source with the hot-tile cache in front of it. A hit does no SQLite read, no hashing
 * and no fstat: the bytes were read (and checked intact) once, under this very instance, so they
 * are the bytes of the version it names. Each tile's content hash is computed once, when it is read.
 */
export class CachedTileSource implements TileSource {
  readonly #owner: CacheOwner;

  constructor(
    readonly inner: TileSource,
    readonly cache: TileCache,
  ) {
    this.#owner = cache.newOwner();
  }

  get id(): string {
    return this.inner.id;
  }
  get format() {
    return this.inner.format;
  }
  get info(): TileSourceInfo {
    return this.inner.info;
  }
  get version(): string {
    return this.inner.version;
  }

  getTile(z: number, x: number, y: number): Tile | undefined {
    const key = tileKey(z, x, y);
    const cached = this.cache.get(this.#owner, key);
    if (cached !== undefined) return cached === MISSING ? undefined : cached;
    const tile = this.inner.getTile(z, x, y);
    if (tile !== undefined) tile.hash = tileHash(tile);
    if (this.cache.admits(this.#owner, key)) this.cache.set(this.#owner, key, tile ?? MISSING);
    return tile;
  }

  intact(): boolean {
    return this.inner.intact();
  }

  close(): void {
    this.cache.dropOwner(this.#owner);
    this.inner.close();
  }
}

/** Puts `source` behind the cache, once (a source already behind it is returned as it is). */
export function withCache(source: TileSource, cache: TileCache): TileSource {
  return source instanceof CachedTileSource ? source : new CachedTileSource(source, cache);
}
