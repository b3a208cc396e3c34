import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/** A tile row to write: TMS coordinates and bytes (null: a NULL tile_data). */
export interface RawTile {
  z: number;
  x: number;
  y: number;
  data: Buffer | null;
}

export const rawTile = (z: number, x: number, y: number, ...data: number[]): RawTile => ({ z, x, y, data: Buffer.from(data) });

/** Writes a plain-schema MBTiles file (pbf, indexed) holding exactly `tiles`, in the order given. */
export function writeTilesFile(path: string, tiles: readonly RawTile[], metadata: Record<string, string> = {}): string {
  const db = new Database(path);
  try {
    db.exec(`CREATE TABLE metadata (name text, value text);
      CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
      CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);`);
    const meta = db.prepare('INSERT INTO metadata VALUES (?, ?)');
    for (const [name, value] of Object.entries({ name: 'test', format: 'pbf', ...metadata })) meta.run(name, value);
    const insert = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (const t of tiles) insert.run(t.z, t.x, t.y, t.data);
    })();
  } finally {
    db.close();
  }
  return path;
}

/**
 * The README's content formula, written out independently of src/: tiles grouped by (z, floor(x
 * / 64)); per group SHA-256 over (z, x, y as int32 BE, length as uint32 BE, bytes) in (x, y)
 * order; the version is the first 16 hex digits of SHA-256 over (z, block as int32 BE, group
 * digest) for each non-empty group in (z, block) order. NULL tiles are left out.
 */
export function expectedContentVersion(tiles: readonly RawTile[]): string {
  const present = tiles.filter((t) => t.data !== null);
  const groups = new Map<string, RawTile[]>();
  for (const t of present) {
    const key = `${t.z}/${Math.floor(t.x / 64)}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const keys = [...groups.keys()]
    .map((k) => k.split('/').map(Number) as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const top = createHash('sha256');
  for (const [z, block] of keys) {
    const members = (groups.get(`${z}/${block}`) ?? []).sort((a, b) => a.x - b.x || a.y - b.y);
    const inner = createHash('sha256');
    for (const t of members) {
      const header = new DataView(new ArrayBuffer(16));
      header.setInt32(0, t.z);
      header.setInt32(4, t.x);
      header.setInt32(8, t.y);
      header.setUint32(12, (t.data as Buffer).length);
      inner.update(new Uint8Array(header.buffer));
      inner.update(t.data as Buffer);
    }
    const key = new DataView(new ArrayBuffer(8));
    key.setInt32(0, z);
    key.setInt32(4, block);
    top.update(new Uint8Array(key.buffer));
    top.update(inner.digest());
  }
  return top.digest('hex').slice(0, 16);
}
