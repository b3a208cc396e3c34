import { flipY } from '../storage/coords.ts';
import { CachedTileSource } from './cached-source.ts';
import { assertIntact, readFailure } from './errors.ts';
import { MbtilesSource } from './mbtiles-source.ts';
import { tileHash } from './tile-hash.ts';
import type { TileSource } from './tile-source.ts';

/**
 * Zoom levels one manifest spans: a block at zoom z (a multiple of 5) lists z … z+4 below its
 * tile, at most 1 + 4 + 16 + 64 + 256 = 341 tiles. Five levels keep a manifest small (~12 KB
 * of JSON) while a map view, which spans about three levels, needs one or two blocks a level.
 */
export const BLOCK_ZOOMS = 5;

/**
 * Rows read (and hashed) between two turns of the event loop: 4 raster tiles of 50 KB are
 * ~0.2 ms of SHA-256, so a turn is never held long, and a full block is 87 reads.
 */
const ROWS_PER_READ = 4;

/** A block: the tile (XYZ) whose descendants over BLOCK_ZOOMS levels a manifest lists. */
export interface Block {
  z: number;
  x: number;
  y: number;
}

/** The hashes of one column of a zoom level: XYZ row → H. */
type ColumnReader = (z: number, x: number, yFrom: number, yTo: number) => [y: number, hash: string][];

/** Gives the event loop a turn between two columns: a block is never read and hashed in one go. */
export type Pause = () => Promise<void>;

const nextTurn: Pause = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Every stored tile of a block and its hash H (the tile's ETag), keyed `"z/x/y"` (XYZ), in
 * z, x, y order; missing tiles are absent. Read a few rows of a column at a time (one index
 * range read each), with a turn of the event loop after each: hashing a full raster block
 * (341 × 50 KB) in one go would hold the loop for tens of milliseconds (`npm run
 * bench:manifests`). Throws what a tile read throws (SourceUnavailableError when the file is being
 * written in place).
 */
export async function blockHashes(source: TileSource, block: Block, pause: Pause = nextTurn): Promise<Record<string, string>> {
  const read = columnReader(source);
  const { minzoom, maxzoom } = source.info;
  const tiles: Record<string, string> = {};
  for (let z = Math.max(block.z, minzoom); z <= Math.min(block.z + BLOCK_ZOOMS - 1, maxzoom); z++) {
    const span = 2 ** (z - block.z);
    const x0 = block.x * span;
    const y0 = block.y * span;
    for (let x = x0; x < x0 + span; x++) {
      for (let from = y0; from < y0 + span; from += ROWS_PER_READ) {
        const to = Math.min(from + ROWS_PER_READ, y0 + span) - 1;
        for (const [y, hash] of read(z, x, from, to)) tiles[`${z}/${x}/${y}`] = hash;
        assertIntact(source);
        await pause();
      }
    }
  }
  return tiles;
}

/**
 * How to read a column: one range read on an MBTiles file (behind the hot-tile cache or not:
 * a manifest's tiles never go into that cache, they would evict the hot ones); point reads on
 * any other source.
 */
function columnReader(serving: TileSource): ColumnReader {
  const source = serving instanceof CachedTileSource ? serving.inner : serving;
  if (!(source instanceof MbtilesSource)) {
    return (z, x, yFrom, yTo) => {
      const found: [number, string][] = [];
      for (let y = yFrom; y <= yTo; y++) {
        const tile = source.getTile(z, x, y);
        if (tile !== undefined) found.push([y, tile.hash ?? tileHash(tile)]);
      }
      return found;
    };
  }
  const file = source.file;
  return (z, x, yFrom, yTo) => {
    try {
      // XYZ rows yFrom…yTo are TMS rows flipY(yTo)…flipY(yFrom).
      const rows = file.tileColumn(z, x, flipY(z, yTo), flipY(z, yFrom));
      const found: [number, string][] = [];
      for (const row of rows) {
        found.push([flipY(z, row.y), tileHash(row)]);
      }
      return found.sort((a, b) => a[0] - b[0]);
    } catch (error) {
      assertIntact(source);
      throw readFailure(source.id, error);
    }
  };
}
