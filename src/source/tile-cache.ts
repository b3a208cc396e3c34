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

/** The entries of one source instance: its own key space (tile-cache.ts hands them out), key → slot. */
export type CacheOwner = Map<TileKey, number> & { readonly serial: number; readonly __cacheOwner: unique symbol };

/** Room an entry takes in its segment at least: bounds the entry count, so the bookkeeping too (~120 B per entry). */
const MIN_SPAN = 128;
/** Largest segment; a cache gets at least 8 segments, so a small one has smaller segments. */
const MAX_SEGMENT_BYTES = 2 << 20;
/**
 * A kept tile takes at most this share of a segment (512 KiB of 2 MiB): a compaction that leaves
 * three quarters of a segment to tiles asked for still makes room for any tile kept. Larger
 * tiles are served and not kept, so one huge tile cannot sweep the cache for a contiguous hole.
 */
const TILE_SHARE_OF_SEGMENT = 4;
/** Compactions one insert may run; beyond, the tile is served and not kept (bounded work per miss). */
const MAX_COMPACTIONS_PER_INSERT = 4;
/**
 * A hit's copy of up to a quarter of this comes out of a block of this size, as Node's own 8 KiB
 * pool serves small buffers: one allocation per block, not per tile (a buffer of its own cost
 * ~1 µs a hit, 3 % of a cached answer). A client that stops reading keeps at most the block of
 * each answer it has not taken alive; a larger tile gets a buffer of its own.
 */
const COPY_BLOCK_BYTES = 64 * 1024;
/** Slot flags. */
const USED = 1;
const LIVE = 2;
const HOLE = 4;
const NO_SLOT = -1;

/**
 * The hot-tile cache (`--cache-size`): one byte budget shared by every serving source, least
 * recently used out. Each source instance has a key space of its own (its owner map), so a
 * swapped-in source (or a handle reopened after an in-place write) starts with nothing and a
 * hit can only ever be bytes of the version that source serves. A source that closes drops its
 * entries at once.
 *
 * The tile bytes live in a few large segments (up to 2 MiB each, allocated as they fill), not in a
 * buffer per tile: kept tiles are then no objects for the garbage collector to trace, promote and
 * compact, and evicting one leaves no buffer waiting for a full collection and no hole in the
 * C heap (measured before: 70-80 MB of tile buffers and ~20 MB of free malloc chunks for a 64 MiB
 * cache). The rest of an entry is a slot in typed arrays; its owner map maps the key to the slot.
 *
 * A hit is a copy: the caller gets bytes of its own, which may sit in a slow socket's queue for
 * as long as it takes, while the segment they came from is compacted and rewritten. (Handing out
 * a view of a segment would save the copy and risk sending another tile's bytes.)
 *
 * Eviction is CLOCK ("second chance") a segment at a time: tiles are appended to the youngest
 * segment; when it has no room and every segment is allocated, the oldest is compacted in place: entries asked for since
 * their last round move to its start (and lose their flag), the others are evicted, and the
 * segment becomes the youngest. A hit costs a flag and a copy, an insert an append. The end of a
 * segment too short for the next tile waits for the segment's next round (at most a quarter of a
 * segment, the largest tile kept, and usually a few KiB).
 */
export class TileCache {
  readonly #segmentBytes: number;
  readonly #segmentCount: number;
  /** A tile larger than this is served but not kept: one huge tile must not flush the cache. */
  readonly #maxTileBytes: number;
  /** Allocated as they fill, in index order; once all are, index order turned at #hand is age order. */
  readonly #segments: Buffer[] = [];
  /** Per segment: bytes taken, and its entries in address order (a list through #next). */
  #filled: number[] = [];
  #first: number[] = [];
  #last: number[] = [];
  /** The oldest segment once all are allocated (the next to compact); the one before it is written to. */
  #hand = 0;

  /** Per slot; the offset counts over all segments (a budget can pass 4 GiB). */
  #offset = new Float64Array(1024);
  #length = new Uint32Array(1024);
  #next = new Int32Array(1024);
  #flags = new Uint8Array(1024);
  #keys: TileKey[] = [];
  #homes: (CacheOwner | undefined)[] = [];
  #hashes: (string | undefined)[] = [];
  #types: string[] = [];
  #encodings: Tile['encoding'][] = [];
  /** Slots taken so far, and those given back (free for a new entry). */
  #slots = 0;
  #free: number[] = [];
  /** Where hit copies come from now (COPY_BLOCK_BYTES), and how much of it is handed out. */
  #block = Buffer.alloc(0);
  #blockUsed = 0;

  #count = 0;
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
    this.#segmentBytes = Math.max(MIN_SPAN, Math.min(MAX_SEGMENT_BYTES, Math.floor(maxBytes / 8 / 8) * 8));
    this.#segmentCount = Math.max(1, Math.floor(maxBytes / this.#segmentBytes));
    this.#maxTileBytes = Math.floor(this.#segmentBytes / TILE_SHARE_OF_SEGMENT);
    this.#seenRing = new Array(Math.max(1024, Math.ceil(maxBytes / SEEN_BYTES_PER_KEY)));
  }

  /**
   * Whether a tile just read is worth keeping. While kept tiles take less than half the budget
   * (after the start, or once a swap closed the tileset that filled it), every one is: the cache
   * warms up at the first request of each tile. Beyond, only one asked for a second time since
   * lately: a tile asked for once (most of a walk over more tiles than fit) is served and
   * forgotten instead of pushing a kept tile out. On a hot set the second request admits it;
   * what the cache loses is one more read per tile.
   */
  admits(owner: CacheOwner, tile: TileKey): boolean {
    if (this.#bytes < this.maxBytes / 2) return true;
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

  /** The kept tile (bytes of the caller's own), MISSING for a kept hole, undefined when not kept. */
  get(owner: CacheOwner, key: TileKey): CachedTile | undefined {
    const slot = owner.get(key);
    if (slot === undefined) {
      this.#misses += 1;
      return undefined;
    }
    this.#hits += 1;
    const flags = this.#flags[slot] as number;
    this.#flags[slot] = flags | USED;
    if (flags & HOLE) return MISSING;
    const offset = this.#offset[slot] as number;
    const length = this.#length[slot] as number;
    const data = this.#copyTarget(length);
    (this.#segments[Math.floor(offset / this.#segmentBytes)] as Buffer).copy(
      data,
      0,
      offset % this.#segmentBytes,
      (offset % this.#segmentBytes) + length,
    );
    const tile: Tile = { data, contentType: this.#types[slot] as string, encoding: this.#encodings[slot] };
    const hash = this.#hashes[slot];
    if (hash !== undefined) tile.hash = hash;
    return tile;
  }

  /** Room for a hit's copy, the caller's own: never handed out again, never written by the cache. */
  #copyTarget(length: number): Buffer {
    if (length > COPY_BLOCK_BYTES / 4) return Buffer.allocUnsafeSlow(length);
    if (this.#blockUsed + length > this.#block.length) {
      this.#block = Buffer.allocUnsafeSlow(COPY_BLOCK_BYTES);
      this.#blockUsed = 0;
    }
    const target = this.#block.subarray(this.#blockUsed, this.#blockUsed + length);
    this.#blockUsed += Math.ceil(length / 8) * 8;
    return target;
  }

  /** Keeps a copy of `tile` (or the hole) under `key`, replacing what the owner kept there. */
  set(owner: CacheOwner, key: TileKey, tile: CachedTile): void {
    const previous = owner.get(key);
    if (previous !== undefined) this.#drop(previous);
    const length = tile === MISSING ? 0 : tile.data.length;
    if (length > this.#maxTileBytes) return;
    const span = spanOf(length);
    const segment = this.#roomFor(span);
    if (segment === undefined) return;
    const slot = this.#newSlot();
    try {
      owner.set(key, slot);
    } catch {
      // a Map holds at most 2^24 entries: this owner keeps no more
      this.#free.push(slot);
      return;
    }
    const start = this.#filled[segment] as number;
    this.#filled[segment] = start + span;
    this.#offset[slot] = segment * this.#segmentBytes + start;
    this.#length[slot] = length;
    this.#next[slot] = NO_SLOT;
    this.#keys[slot] = key;
    this.#homes[slot] = owner;
    if (tile === MISSING) {
      this.#flags[slot] = LIVE | HOLE;
      this.#hashes[slot] = undefined;
    } else {
      this.#flags[slot] = LIVE;
      tile.data.copy(this.#segments[segment] as Buffer, start);
      this.#hashes[slot] = tile.hash;
      this.#types[slot] = tile.contentType;
      this.#encodings[slot] = tile.encoding;
    }
    this.#append(segment, slot);
    this.#count += 1;
    this.#bytes += span;
  }

  /** Forgets every entry of one source instance (it closed: nobody can ask for them again). */
  dropOwner(owner: CacheOwner): void {
    for (const slot of owner.values()) this.#drop(slot); // a Map iterates on past what is deleted behind it
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

  /** Takes a live entry out of its owner at once; its room is taken back when its segment is compacted. */
  #drop(slot: number): void {
    (this.#homes[slot] as CacheOwner).delete(this.#keys[slot] as TileKey);
    this.#homes[slot] = undefined;
    this.#hashes[slot] = undefined;
    this.#flags[slot] = 0;
    this.#count -= 1;
    this.#bytes -= spanOf(this.#length[slot] as number);
  }

  /**
   * A segment with `span` bytes free at its end: the youngest, a new one, or the oldest
   * compacted (which becomes the youngest); undefined when a few compactions made no room
   * (every entry they met was asked for: they lost their flags, so later inserts find room).
   */
  #roomFor(span: number): number | undefined {
    const allocated = this.#segments.length;
    const youngest = allocated < this.#segmentCount ? allocated - 1 : (this.#hand + allocated - 1) % allocated;
    if (youngest >= 0 && this.#segmentBytes - (this.#filled[youngest] as number) >= span) return youngest;
    if (allocated < this.#segmentCount) {
      this.#segments.push(Buffer.allocUnsafeSlow(this.#segmentBytes));
      this.#filled.push(0);
      this.#first.push(NO_SLOT);
      this.#last.push(NO_SLOT);
      return allocated;
    }
    for (let i = 0; i < MAX_COMPACTIONS_PER_INSERT; i++) {
      const oldest = this.#hand;
      this.#hand = (oldest + 1) % allocated;
      this.#compact(oldest);
      if (this.#segmentBytes - (this.#filled[oldest] as number) >= span) return oldest;
    }
    return undefined;
  }

  /** Moves the entries of a segment asked for since their last round to its start; evicts the rest. */
  #compact(segment: number): void {
    const buffer = this.#segments[segment] as Buffer;
    const base = segment * this.#segmentBytes;
    let slot = this.#first[segment] as number;
    this.#first[segment] = NO_SLOT;
    this.#last[segment] = NO_SLOT;
    let filled = 0;
    while (slot !== NO_SLOT) {
      const next = this.#next[slot] as number;
      const flags = this.#flags[slot] as number;
      if (flags & USED) {
        const from = (this.#offset[slot] as number) - base;
        if (from !== filled) buffer.copyWithin(filled, from, from + (this.#length[slot] as number));
        this.#offset[slot] = base + filled;
        this.#flags[slot] = flags & ~USED;
        this.#next[slot] = NO_SLOT;
        this.#append(segment, slot);
        filled += spanOf(this.#length[slot] as number);
      } else {
        if (flags & LIVE) {
          this.#drop(slot);
          this.#evictions += 1;
        }
        this.#keys[slot] = 0;
        this.#free.push(slot);
      }
      slot = next;
    }
    this.#filled[segment] = filled;
  }

  #append(segment: number, slot: number): void {
    const last = this.#last[segment] as number;
    if (last === NO_SLOT) this.#first[segment] = slot;
    else this.#next[last] = slot;
    this.#last[segment] = slot;
  }

  #newSlot(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#slots === this.#offset.length) {
      const grow = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(from: T): T => {
        const to = new (from.constructor as new (length: number) => T)(from.length * 2);
        to.set(from);
        return to;
      };
      this.#offset = grow(this.#offset);
      this.#length = grow(this.#length);
      this.#next = grow(this.#next);
      this.#flags = grow(this.#flags);
    }
    return this.#slots++;
  }
}

/** The room an entry of `length` bytes takes in its segment: rounded up to 8, at least MIN_SPAN (length ≤ a segment). */
function spanOf(length: number): number {
  return Math.max(MIN_SPAN, Math.ceil(length / 8) * 8);
}
