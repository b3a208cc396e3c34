import { createHash } from 'node:crypto';
import type { Database } from './sqlite.ts';

/** The metadata key martin's `mbtiles` tool keeps the hash under. */
export const AGG_TILES_HASH = 'agg_tiles_hash';

const ROWS =
  'SELECT CAST(zoom_level AS TEXT) AS z, CAST(tile_column AS TEXT) AS x, CAST(tile_row AS TEXT) AS y, tile_data AS data ' +
  'FROM tiles ORDER BY zoom_level, tile_column, tile_row';

/**
 * martin's `agg_tiles_hash`, computed as its `mbtiles` tool does (`md5_concat_hex` of
 * sqlite-hashes): the upper-case hex MD5 over every row of `tiles` in (zoom_level, tile_column,
 * tile_row) order of the text of zoom_level, tile_column and tile_row, then tile_data,
 * concatenated with no separator; a NULL is left out, as sqlite-hashes leaves it out. A file
 * without tiles gets the MD5 of the empty string. Files stamped by either tool agree.
 */
export function aggTilesHash(db: Database, onBytes?: (bytes: number) => void): string {
  const md5 = createHash('md5');
  for (const row of db.prepare(ROWS).iterate()) {
    for (const value of [row.z, row.x, row.y, row.data]) {
      if (value === null || value === undefined) continue;
      md5.update(typeof value === 'string' ? Buffer.from(value, 'utf8') : (value as Uint8Array));
    }
    if (onBytes !== undefined && row.data instanceof Uint8Array) onBytes(row.data.byteLength);
  }
  return md5.digest('hex').toUpperCase();
}

/**
 * Runs `work` in one transaction: `write` takes the write lock first (BEGIN IMMEDIATE), so no
 * other writer commits between what `work` reads and what it writes; otherwise one read
 * transaction, so everything `work` reads comes from one snapshot of the file. Rolled back when
 * `work` throws.
 */
export function inTransaction<T>(db: Database, mode: 'read' | 'write', work: () => T): T {
  db.exec(mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN');
  let result: T;
  try {
    result = work();
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
  db.exec('COMMIT');
  return result;
}

/**
 * Writes `hash` as the file's agg_tiles_hash, replacing any there. The caller holds the write
 * transaction in which the hash was computed (inTransaction).
 */
export function writeAggTilesHash(db: Database, hash: string): void {
  // Inlined rather than bound (the driver interface has no bound writes): only hex digits get here.
  if (!/^[0-9A-F]{32}$/.test(hash)) throw new Error(`not an MD5 in hex: ${hash}`);
  db.exec(
    `DELETE FROM metadata WHERE name = '${AGG_TILES_HASH}'; ` +
      `INSERT INTO metadata (name, value) VALUES ('${AGG_TILES_HASH}', '${hash}');`,
  );
}

/** The agg_tiles_hash stored in the file's metadata, if any. */
export function storedAggTilesHash(db: Database): string | undefined {
  const value = db.prepare('SELECT value FROM metadata WHERE name = ?').get(AGG_TILES_HASH)?.value;
  return typeof value === 'string' ? value : undefined;
}
