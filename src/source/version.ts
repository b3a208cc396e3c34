import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TileRow } from '../storage/mbtiles.ts';

/** Hex digits of a SHA-256 kept as the version: 64 bits, ample to tell refreshes apart. */
export const VERSION_HEX_DIGITS = 16;

/** How long one synchronous slice of digesting may hold the event loop before it yields. */
const SLICE_MS = 10;

export interface DigestResult {
  version: string;
  tiles: number;
  bytes: number;
}

/**
 * The content version of a tileset (README, "Versions"): SHA-256 over every tile in
 * (zoom_level, tile_column, tile_row) order, TMS rows as stored; for each tile a 16-byte header
 * of z, x, y as big-endian int32 (signed: GDAL writes rows such as -1 beyond the grid) and the
 * byte length as big-endian uint32, then the tile's bytes exactly as stored.
 * The first 16 hex digits are the version.
 *
 * Metadata, file path, mtime and SQLite page layout do not enter it, so identical tiles give the
 * identical version on every machine. Work is cut into slices of about 10 ms with a yield
 * between them, so requests keep being answered while a large file is digested.
 */
export async function digestTiles(tiles: Iterable<TileRow>): Promise<DigestResult> {
  const hash = createHash('sha256');
  const header = Buffer.alloc(16);
  let count = 0;
  let bytes = 0;
  let sliceEnd = performance.now() + SLICE_MS;
  for (const tile of tiles) {
    header.writeInt32BE(tile.z, 0);
    header.writeInt32BE(tile.x, 4);
    header.writeInt32BE(tile.y, 8);
    header.writeUInt32BE(tile.data.length, 12);
    hash.update(header);
    hash.update(tile.data);
    count += 1;
    bytes += tile.data.length;
    if ((count & 63) === 0 && performance.now() > sliceEnd) {
      await nextTurn();
      sliceEnd = performance.now() + SLICE_MS;
    }
  }
  return { version: hash.digest('hex').slice(0, VERSION_HEX_DIGITS), tiles: count, bytes };
}

/** The combined version of many tilesets: SHA-256 over the sorted `id=version` lines. */
export function combinedVersion(versions: Readonly<Record<string, string>>): string {
  const lines = Object.keys(versions)
    .sort()
    .map((id) => `${id}=${versions[id]}\n`)
    .join('');
  return createHash('sha256').update(lines).digest('hex').slice(0, VERSION_HEX_DIGITS);
}
