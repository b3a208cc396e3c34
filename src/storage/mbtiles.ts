import { messageOf } from '../error-message.ts';
import { type Metadata, parseMetadata } from './metadata.ts';
import type { Database, SqliteDriver, Statement } from './sqlite.ts';

/** Why a file cannot be served, in words fit for a log line and /health. */
export class MbtilesError extends Error {
  override name = 'MbtilesError';
}

/** A tile row as stored: TMS coordinates and the bytes exactly as the file holds them. */
export interface TileRow {
  z: number;
  x: number;
  /** TMS row (y grows northwards), as in the file. */
  y: number;
  data: Buffer;
}

/** One stored tile of a column, as a hash manifest needs it. */
export interface ColumnTile {
  /** TMS row. */
  y: number;
  data: Buffer;
}

/** How the file stores its tiles: a plain `tiles` table, or tippecanoe's `map` + `images` behind a `tiles` view. */
export type TileSchema = 'table' | 'deduplicated' | 'view';

// CAST: a tile stored as TEXT comes back as its stored bytes, not decoded (and re-encoded) as UTF-8.
const TILE_SQL =
  'SELECT CAST(tile_data AS BLOB) AS tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?';
const COLUMN_SQL =
  'SELECT tile_row AS y, CAST(tile_data AS BLOB) AS data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row BETWEEN ? AND ? AND tile_data IS NOT NULL';
const ALL_TILES_SQL =
  'SELECT zoom_level AS z, tile_column AS x, tile_row AS y, CAST(tile_data AS BLOB) AS data FROM tiles ORDER BY zoom_level, tile_column, tile_row';

/**
 * One MBTiles file opened read-only, with its statements prepared once. Reads TMS rows;
 * converting from URL (XYZ) coordinates is the caller's business.
 */
export class MbtilesFile {
  readonly metadata: Metadata;
  readonly schema: TileSchema;
  /** Whether tile lookups use an index; without one each read scans the whole table. */
  readonly indexed: boolean;
  readonly #db: Database;
  readonly #tile: Statement;
  #column: Statement | undefined;

  private constructor(
    readonly path: string,
    db: Database,
  ) {
    this.#db = db;
    this.schema = detectSchema(db);
    this.#tile = db.prepare(TILE_SQL);
    this.indexed = !db
      .prepare(`EXPLAIN QUERY PLAN ${TILE_SQL}`)
      .all(0, 0, 0)
      .some((step) => /^SCAN /.test(String(step.detail)) && !/USING/.test(String(step.detail)));
    this.metadata = parseMetadata(db.prepare('SELECT name, value FROM metadata').all() as { name: unknown; value: unknown }[]);
  }

  /**
   * Opens and checks the structure: an SQLite file with `metadata` and a `tiles` table or view.
   * Throws MbtilesError with a reason a person can act on; never leaves a handle open on failure.
   */
  static open(driver: SqliteDriver, path: string): MbtilesFile {
    let db: Database;
    try {
      db = driver.openReadOnly(path);
    } catch (error) {
      throw new MbtilesError(`cannot open as SQLite: ${messageOf(error)}`, { cause: error });
    }
    try {
      return new MbtilesFile(path, db);
    } catch (error) {
      db.close();
      if (error instanceof MbtilesError) throw error;
      const hint = /readonly database/.test(messageOf(error))
        ? ' (a WAL-mode file in a read-only folder: SQLite cannot create its -shm file; convert it with sqlite3 FILE "PRAGMA journal_mode=DELETE")'
        : '';
      throw new MbtilesError(`not a readable MBTiles file: ${messageOf(error)}${hint}`, { cause: error });
    }
  }

  /** The stored bytes of one tile (TMS row), or undefined when the file has none there. */
  getTile(z: number, x: number, yTms: number): Buffer | undefined {
    const row = this.#tile.get(z, x, yTms);
    return row === undefined ? undefined : asBytes(row.tile_data);
  }

  /**
   * The tiles of one column between two TMS rows (inclusive): one index range read, for hash
   * manifests, through the `tiles` view of a deduplicated file as every tile read.
   */
  tileColumn(z: number, x: number, yFromTms: number, yToTms: number): ColumnTile[] {
    this.#column ??= this.#db.prepare(COLUMN_SQL);
    return this.#column.all(z, x, yFromTms, yToTms).flatMap((row) => {
      const data = asBytes(row.data);
      return data === undefined ? [] : [{ y: Number(row.y), data }];
    });
  }

  /** The lowest and highest zoom level that hold tiles; undefined for an empty tileset. */
  zoomRange(): { minzoom: number; maxzoom: number } | undefined {
    const row = this.#db.prepare('SELECT MIN(zoom_level) AS lo, MAX(zoom_level) AS hi FROM tiles').get();
    if (row === undefined || typeof row.lo !== 'number' || typeof row.hi !== 'number') return undefined;
    return { minzoom: row.lo, maxzoom: row.hi };
  }

  /** The first non-empty tile at the lowest zoom, for format sniffing and the "a tile reads" check. */
  firstTile(): TileRow | undefined {
    const row = this.#db
      .prepare(`${ALL_TILES_SQL.replace('FROM tiles', 'FROM tiles WHERE length(tile_data) > 0')} LIMIT 1`)
      .get();
    return row === undefined ? undefined : toTileRow(row);
  }

  /** How many tiles, counting no further than `limit` (so it stays cheap on huge files). */
  countTiles(limit: number): number {
    return Number(this.#db.prepare('SELECT count(*) AS n FROM (SELECT 1 FROM tiles LIMIT ?)').get(limit)?.n ?? 0);
  }

  /** Up to `limit` tiles of one zoom level, for layer discovery. */
  tilesAtZoom(z: number, limit: number): TileRow[] {
    return this.#db
      .prepare(`${ALL_TILES_SQL.replace('FROM tiles', 'FROM tiles WHERE zoom_level = ?')} LIMIT ?`)
      .all(z, limit)
      .flatMap((row) => toTileRow(row) ?? []);
  }

  close(): void {
    this.#db.close();
  }
}

function detectSchema(db: Database): TileSchema {
  const objects = new Map<string, string>();
  for (const row of db.prepare("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')").all()) {
    objects.set(String(row.name), String(row.type));
  }
  if (objects.get('metadata') !== 'table') throw new MbtilesError('no metadata table: not an MBTiles file');
  const tiles = objects.get('tiles');
  if (tiles === 'table') return 'table';
  if (tiles === 'view') return objects.get('map') === 'table' && objects.get('images') === 'table' ? 'deduplicated' : 'view';
  throw new MbtilesError('no tiles table or view: not an MBTiles file');
}

function toTileRow(row: Record<string, unknown>): TileRow | undefined {
  const data = asBytes(row.data);
  if (data === undefined) return undefined;
  const { z, x, y } = row;
  if (![z, x, y].every((v) => Number.isSafeInteger(v) && Math.abs(v as number) < 2 ** 31)) {
    throw new MbtilesError(`a tile row has coordinates that are not 32-bit integers: ${z}/${x}/${y}`);
  }
  return { z: z as number, x: x as number, y: y as number, data };
}

/** Blobs come back as Buffer; a NULL tile counts as no tile; text is taken as its UTF-8 bytes. */
function asBytes(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return undefined;
}
