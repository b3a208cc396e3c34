import type { Tile } from './tile-source.ts';

/** What the cache remembers for one tile: the tile ready to send, or that there is none. */
export type CachedTile = Tile | typeof MISSING;

/** A hole in the tileset: cached too, so 204/404 answers skip SQLite as well. */
export const MISSING = Symbol('missing tile');

/**
 * How many keys the cache remembers as asked for once: one per this many bytes of budget (4,096
 * keys for 64 MiB). A tile is admitted when it is asked for again within about that many misses:
 * a hot tile is; on a walk over more tiles than fit, fewer kept tiles are pushed out by tiles
 * that are not asked for again soon (4 KiB per key: 17 full collections in 9 s of the big walk;
 * 16 KiB: 11-14).
 */
const SEEN_BYTES_PER_KEY = 16384;

/** Bytes an entry costs beyond its tile data: the key, the entry and tile objects, the map and ring slots. */
const ENTRY_OVERHEAD = 160;

/** Counters for /metrics; `bytes` and `entries` are what the cache holds now. */
export interface TileCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  bytes: number;
  entries: number;
}

/**
 * A tile's key within its source: a number for zooms up to 26 (its index in a z-order of every
 * tile of every zoom, exact as a double), a string beyond. Numbers up to z15 are small integers,
 * which a Map hashes and compares without building or flattening a string on every request.
 */
export type TileKey = number | string;

/** The key of z/x/y (the caller has checked x and y are within 0 … 2^z − 1). */
export function tileKey(z: number, x: number, y: number): TileKey {
  if (z > 26) return `${z}/${x}/${y}`;
  const side = 2 ** z;
  return (side * side - 1) / 3 + y * side + x;
}

/** The entries of one source instance: its own key space (tile-cache.ts hands them out). */
export type CacheOwner = Map<TileKey, Entry> & { readonly serial: number; readonly __cacheOwner: unique symbol };

interface Entry {
  key: TileKey;
  /** The entries of the source instance that read it. */
  home: CacheOwner;
  tile: CachedTile;
  size: number;
  /** Asked for since it was (re)inserted: earns one more round before eviction. */
  used: boolean;
  /** False once dropped (evicted, replaced, or its owner closed); the ring forgets it when the hand passes. */
  live: boolean;
}

/**
 * The hot-tile cache (`--cache-size`): one byte budget shared by every serving source, least
 * recently used out. Each source instance has a key space of its own (its owner map), so a
 * swapped-in source (or a handle reopened after an in-place write) starts with nothing and a
 * hit can only ever be bytes of the version that source serves. A source that closes drops its
 * entries at once.
 *
 * Recency is kept the CLOCK way ("second chance"), an approximation of LRU that costs a hit
 * nothing but a flag: entries wait in a ring in insertion order, eviction looks at the oldest, and
 * one that was asked for since it was inserted goes round to the young end instead of being
 * dropped. The ring is an array with a moving head, so each eviction is O(1): a Map used as the
 * queue (delete the oldest, iterate from the start) leaves deleted slots at its front that every
 * later eviction walks over again, which made a miss-heavy walk several times slower than a read.
 */
export class TileCache {
  /** Live entries, over every owner. */
  #count = 0;
  /** A tile larger than this is served but not kept: one huge tile must not flush the cache. */
  readonly #maxEntryBytes: number;
  /** Power-of-two capacity; the entries from #head on, #length of them, oldest first. */
  #ring: (Entry | undefined)[] = new Array(1024);
  #head = 0;
  #length = 0;
  /** Entries in the ring that are no longer live. */
  #dead = 0;
  #bytes = 0;
  #nextSerial = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  /** Keys missed once lately (admits): the set, and the ring that forgets the oldest. */
  readonly #seen = new Set<TileKey>();
  readonly #seenRing: (TileKey | undefined)[];
  #seenNext = 0;

  constructor(readonly maxBytes: number) {
    this.#maxEntryBytes = Math.floor(maxBytes / 8);
    this.#seenRing = new Array(Math.max(1024, Math.ceil(maxBytes / SEEN_BYTES_PER_KEY)));
  }

  /**
   * Whether a tile just read is worth keeping: only one asked for a second time since lately. A
   * tile asked for once (most of a walk over more tiles than fit) is served and forgotten: its
   * bytes die young, freed at once by the young-generation collector, instead of pushing a kept
   * tile out and dying old. On a hot set the second request admits it; what the cache loses is
   * one more read per tile.
   */
  admits(owner: CacheOwner, tile: TileKey): boolean {
    // The owner's serial in the low bits: two tilesets asking for the same z/x/y (two sources of
    // one style) are two tiles. Beyond z21 the sum is no longer exact: two keys may then meet,
    // which only admits a tile one request early.
    const key = typeof tile === 'number' ? tile * 1024 + (owner.serial & 1023) : `${owner.serial}/${tile}`;
    if (this.#seen.delete(key)) return true;
    const forgotten = this.#seenRing[this.#seenNext];
    if (forgotten !== undefined) this.#seen.delete(forgotten);
    this.#seenRing[this.#seenNext] = key;
    this.#seenNext = (this.#seenNext + 1) % this.#seenRing.length;
    this.#seen.add(key);
    return false;
  }

  /** A fresh key space for one source instance. */
  newOwner(): CacheOwner {
    return Object.assign(new Map(), { serial: this.#nextSerial++ }) as unknown as CacheOwner;
  }

  get(owner: CacheOwner, key: TileKey): CachedTile | undefined {
    const entry = owner.get(key);
    if (entry === undefined) {
      this.#misses += 1;
      return undefined;
    }
    this.#hits += 1;
    entry.used = true;
    return entry.tile;
  }

  set(owner: CacheOwner, key: TileKey, tile: CachedTile): void {
    const size = ENTRY_OVERHEAD + (tile === MISSING ? 0 : tile.data.length);
    if (size > this.#maxEntryBytes) return;
    const previous = owner.get(key);
    if (previous !== undefined) this.#drop(previous);
    const entry: Entry = { key, home: owner, tile, size, used: false, live: true };
    owner.set(key, entry);
    this.#count += 1;
    this.#push(entry);
    this.#bytes += size;
    while (this.#bytes > this.maxBytes) this.#evictOne();
  }

  /** Drops the oldest entry not asked for since its last round; the others go round again. */
  #evictOne(): void {
    for (;;) {
      const entry = this.#shift();
      if (!entry.live) {
        this.#dead -= 1;
        continue;
      }
      if (entry.used) {
        entry.used = false;
        this.#push(entry);
        continue;
      }
      entry.home.delete(entry.key);
      entry.live = false;
      this.#count -= 1;
      this.#bytes -= entry.size;
      this.#evictions += 1;
      return;
    }
  }

  /** Forgets every entry of one source instance (it closed: nobody can ask for them again). */
  dropOwner(owner: CacheOwner): void {
    for (const entry of owner.values()) this.#drop(entry); // a Map iterates on past what is deleted behind it
    if (this.#dead > this.#count) this.#compact();
  }

  stats(): TileCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      bytes: this.#bytes,
      entries: this.#count,
    };
  }

  /** Takes a live entry out of the map at once; its ring slot is skipped when the hand gets there. */
  #drop(entry: Entry): void {
    entry.home.delete(entry.key);
    entry.live = false;
    entry.tile = MISSING; // its bytes can be collected now, not when the hand passes
    this.#count -= 1;
    this.#bytes -= entry.size;
    this.#dead += 1;
  }

  #push(entry: Entry): void {
    if (this.#length === this.#ring.length) this.#resize(this.#ring.length * 2);
    this.#ring[(this.#head + this.#length) & (this.#ring.length - 1)] = entry;
    this.#length += 1;
  }

  /** The oldest entry of the ring; only called while it holds a live one (bytes over budget). */
  #shift(): Entry {
    const entry = this.#ring[this.#head] as Entry;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#ring.length - 1);
    this.#length -= 1;
    return entry;
  }

  /** Keeps only live entries, in order (after owners closed, the ring would otherwise hold their slots). */
  #compact(): void {
    const live: Entry[] = [];
    for (let i = 0; i < this.#length; i++) {
      const entry = this.#ring[(this.#head + i) & (this.#ring.length - 1)] as Entry;
      if (entry.live) live.push(entry);
    }
    let capacity = 1024;
    while (capacity < live.length) capacity *= 2;
    this.#ring = new Array(capacity);
    for (const [i, entry] of live.entries()) this.#ring[i] = entry;
    this.#head = 0;
    this.#length = live.length;
    this.#dead = 0;
  }

  #resize(capacity: number): void {
    const ring: (Entry | undefined)[] = new Array(capacity);
    for (let i = 0; i < this.#length; i++) ring[i] = this.#ring[(this.#head + i) & (this.#ring.length - 1)];
    this.#ring = ring;
    this.#head = 0;
  }
}
