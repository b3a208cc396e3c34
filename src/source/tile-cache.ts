import type { Tile } from './tile-source.ts';

/** What the cache remembers for one tile: the tile ready to send, or that there is none. */
export type CachedTile = Tile | typeof MISSING;

/** A hole in the tileset: cached too, so 204/404 answers skip SQLite as well. */
export const MISSING = Symbol('missing tile');

/** Bytes an entry costs beyond its tile data: the key, the entry object, the map slot. */
const ENTRY_OVERHEAD = 160;

/** Counters for /metrics; `bytes` and `entries` are what the cache holds now. */
export interface TileCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  bytes: number;
  entries: number;
}

interface Entry {
  tile: CachedTile;
  size: number;
  owner: number;
  /** Asked for since it was (re)inserted: earns one more round before eviction. */
  used: boolean;
}

/**
 * The hot-tile cache (`--cache-size`): one byte budget shared by every serving source, least
 * recently used out. Keys carry the serial number of the source instance that read the tile, so
 * a swapped-in source (or a handle reopened after an in-place write) starts with nothing and a
 * hit can only ever be bytes of the version that source serves. A source that closes drops its
 * entries at once.
 *
 * Recency is kept the CLOCK way ("second chance"), an approximation of LRU that costs a hit
 * nothing but a flag: a Map keeps insertion order, eviction looks at the oldest entry, and one
 * that was asked for since it was inserted is moved to the young end instead of being dropped.
 * Re-inserting on every hit (exact LRU) cost the hot path more than the rest of its lookup.
 */
export class TileCache {
  readonly #entries = new Map<string, Entry>();
  /** A tile larger than this is served but not kept: one huge tile must not flush the cache. */
  readonly #maxEntryBytes: number;
  #bytes = 0;
  #nextOwner = 1;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(readonly maxBytes: number) {
    this.#maxEntryBytes = Math.floor(maxBytes / 8);
  }

  /** A fresh key space for one source instance. */
  newOwner(): number {
    return this.#nextOwner++;
  }

  get(key: string): CachedTile | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    entry.used = true;
    return entry.tile;
  }

  set(key: string, owner: number, tile: CachedTile): void {
    const size = ENTRY_OVERHEAD + key.length + (tile === MISSING ? 0 : tile.data.length);
    if (size > this.#maxEntryBytes) return;
    const previous = this.#entries.get(key);
    if (previous !== undefined) {
      this.#bytes -= previous.size;
      this.#entries.delete(key);
    }
    this.#entries.set(key, { tile, size, owner, used: false });
    this.#bytes += size;
    while (this.#bytes > this.maxBytes) this.#evictOne();
  }

  /** Drops the oldest entry not asked for since its last round; the others go round again. */
  #evictOne(): void {
    for (const [oldest, entry] of this.#entries) {
      this.#entries.delete(oldest);
      if (entry.used) {
        entry.used = false;
        this.#entries.set(oldest, entry);
        continue;
      }
      this.#bytes -= entry.size;
      this.evictions += 1;
      return;
    }
  }

  /** Forgets every entry of one source instance (it closed: nobody can ask for them again). */
  dropOwner(owner: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.owner !== owner) continue;
      this.#entries.delete(key);
      this.#bytes -= entry.size;
    }
  }

  stats(): TileCacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, bytes: this.#bytes, entries: this.#entries.size };
  }
}
