import { createHash } from 'node:crypto';
import { MAX_ZOOM, onGrid } from '../storage/coords.ts';
import { MbtilesError } from '../storage/mbtiles.ts';
import type { Database } from '../storage/sqlite.ts';

/**
 * The content version is a tree (README, "Versions"): tiles are grouped into fixed key ranges,
 * each range is digested on its own, and the range digests are combined in key order. A range
 * is one zoom level and one block of 2^COLUMN_BLOCK_BITS tile columns, a split fixed by the
 * tile keys alone, so the version never depends on how many threads share the work.
 */
export const COLUMN_BLOCK_BITS = 6;

/** Names the formula; part of the key under which computed versions are remembered. */
export const CONTENT_FORMULA = `tilestamp-content-2/columns-${2 ** COLUMN_BLOCK_BITS}`;

/** One key range: zoom level `z`, tile columns [block * 64, block * 64 + 64). */
export interface KeyRange {
  z: number;
  block: number;
}

/** What digesting one range gave; `digest` is the raw 32-byte SHA-256, empty when no tile. */
export interface RangeDigest extends KeyRange {
  digest: Uint8Array;
  tiles: number;
  bytes: number;
  /** Of those tiles, how many lie off the z/x/y grid (no URL names them; README, "Versions"). */
  outsideGrid: number;
}

/** A whole file's content digest (hex), with what it covered. */
export interface ContentDigest {
  digest: string;
  tiles: number;
  bytes: number;
  /** Tiles digested that lie off the z/x/y grid: in the version, but never served. */
  outsideGrid: number;
}

const FIRST_ZOOM = 'SELECT zoom_level AS v FROM tiles ORDER BY zoom_level LIMIT 1';
const NEXT_ZOOM = 'SELECT zoom_level AS v FROM tiles WHERE zoom_level > ? ORDER BY zoom_level LIMIT 1';
const FIRST_COLUMN = 'SELECT tile_column AS v FROM tiles WHERE zoom_level = ? ORDER BY tile_column LIMIT 1';
const NEXT_COLUMN = 'SELECT tile_column AS v FROM tiles WHERE zoom_level = ? AND tile_column >= ? ORDER BY tile_column LIMIT 1';
const RANGE_TILES =
  'SELECT zoom_level AS z, tile_column AS x, tile_row AS y, tile_data AS data FROM tiles ' +
  'WHERE zoom_level = ? AND tile_column >= ? AND tile_column < ? ORDER BY zoom_level, tile_column, tile_row';

/**
 * Every key range that holds a row, in key order, found by index seeks (one per range, not one
 * per tile). NULL or text keys sort before or after every integer in SQLite, so a seek lands on
 * them and the file is refused, as a walk of every row would refuse it.
 */
export function listRanges(db: Database): KeyRange[] {
  const ranges: KeyRange[] = [];
  const nextZoom = db.prepare(NEXT_ZOOM);
  const firstColumn = db.prepare(FIRST_COLUMN);
  const nextColumn = db.prepare(NEXT_COLUMN);
  let z = keyOf(db.prepare(FIRST_ZOOM).get()?.v, 'zoom_level');
  while (z !== undefined) {
    let x = keyOf(firstColumn.get(z)?.v, 'tile_column');
    while (x !== undefined) {
      const block = Math.floor(x / 2 ** COLUMN_BLOCK_BITS);
      ranges.push({ z, block });
      x = keyOf(nextColumn.get(z, (block + 1) * 2 ** COLUMN_BLOCK_BITS)?.v, 'tile_column');
    }
    z = keyOf(nextZoom.get(z)?.v, 'zoom_level');
  }
  return ranges;
}

function keyOf(value: unknown, column: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'bigint' && value >= -(2n ** 31n) && value < 2n ** 31n) return Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) >= 2 ** 31) {
    throw new MbtilesError(`a tile row has a ${column} that is not a 32-bit integer: ${String(value)}`);
  }
  return value;
}

/**
 * SHA-256 over the range's tiles in (tile_column, tile_row) order: per tile z, x, y as
 * big-endian int32, the byte length as big-endian uint32, then the bytes as stored. Rows whose
 * tile_data is NULL are skipped. Tiles off the grid (a column or row outside 0 … 2^z - 1, a zoom
 * past MAX_ZOOM) are digested like any other, and counted: no URL can ask for them, which an
 * operator should hear of. `onBytes` hears of progress every few MB.
 */
export function digestRange(db: Database, range: KeyRange, onBytes?: (bytes: number) => void): RangeDigest {
  const lo = range.block * 2 ** COLUMN_BLOCK_BITS;
  const hash = createHash('sha256');
  const header = Buffer.alloc(16);
  let tiles = 0;
  let bytes = 0;
  let outsideGrid = 0;
  let reported = 0;
  const servableZoom = range.z >= 0 && range.z <= MAX_ZOOM;
  for (const row of db.prepare(RANGE_TILES).iterate(range.z, lo, lo + 2 ** COLUMN_BLOCK_BITS)) {
    const data = row.data;
    if (data === null || data === undefined) continue;
    const bytesOf = typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Uint8Array);
    const { x, y } = row;
    if (!Number.isInteger(x) || !Number.isInteger(y) || Math.abs(y as number) >= 2 ** 31) {
      throw new MbtilesError(`a tile row has coordinates that are not 32-bit integers: ${range.z}/${x}/${y}`);
    }
    header.writeInt32BE(range.z, 0);
    header.writeInt32BE(x as number, 4);
    header.writeInt32BE(y as number, 8);
    header.writeUInt32BE(bytesOf.length, 12);
    hash.update(header);
    hash.update(bytesOf);
    tiles += 1;
    bytes += bytesOf.length;
    if (!servableZoom || !onGrid(range.z, x as number, y as number)) outsideGrid += 1;
    if (onBytes !== undefined && bytes - reported >= PROGRESS_BYTES) {
      onBytes(bytes - reported);
      reported = bytes;
    }
  }
  if (onBytes !== undefined && bytes > reported) onBytes(bytes - reported);
  return { ...range, digest: tiles === 0 ? new Uint8Array(0) : hash.digest(), tiles, bytes, outsideGrid };
}

/** How many bytes a worker digests between two progress messages. */
export const PROGRESS_BYTES = 32 * 1024 * 1024;

/**
 * The version from the range digests (any order in, key order used): SHA-256 over, for every
 * range holding at least one tile, z and block as big-endian int32 and then its 32-byte digest.
 */
export function combineRanges(digests: readonly RangeDigest[]): ContentDigest {
  const sorted = [...digests].sort((a, b) => a.z - b.z || a.block - b.block);
  const hash = createHash('sha256');
  const key = Buffer.alloc(8);
  let tiles = 0;
  let bytes = 0;
  let outsideGrid = 0;
  for (const range of sorted) {
    if (range.tiles === 0) continue;
    key.writeInt32BE(range.z, 0);
    key.writeInt32BE(range.block, 4);
    hash.update(key);
    hash.update(range.digest);
    tiles += range.tiles;
    bytes += range.bytes;
    outsideGrid += range.outsideGrid;
  }
  return { digest: hash.digest('hex'), tiles, bytes, outsideGrid };
}
