// The digest benchmark's input: an MBTiles file of DIGEST_TILES random tiles of 1-9 KiB
// (default 220,000, about 1.1 GB), zoom levels filled in order from 0 (z0-z8 full, the rest
// at z9). Reused when it already exists with the same tile count. Used by bench/digest.mjs.
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Makes (or reuses) the file at `path` and returns its tile count. */
export function makeDigestFile(path, tiles) {
  if (existsSync(path)) {
    const db = new Database(path, { readonly: true });
    const have = db.prepare("SELECT value FROM metadata WHERE name = 'bench_tiles'").pluck().get();
    const layers = db.prepare("SELECT value FROM metadata WHERE name = 'json'").pluck().get();
    db.close();
    if (Number(have) === tiles && layers !== undefined) return tiles;
  }
  const partial = `${path}.partial`;
  rmSync(partial, { force: true });
  const db = new Database(partial);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.exec(`CREATE TABLE metadata (name text, value text);
    CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
    CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);`);
  const meta = db.prepare('INSERT INTO metadata VALUES (?, ?)');
  for (const [k, v] of [
    ['name', 'digest-bench'],
    ['format', 'pbf'],
    ['minzoom', '0'],
    ['maxzoom', '9'],
    ['bench_tiles', String(tiles)],
    // As tippecanoe writes it: without it the server decodes sample tiles to find the layers.
    ['json', JSON.stringify({ vector_layers: [{ id: 'random', fields: {}, minzoom: 0, maxzoom: 9 }] })],
  ])
    meta.run(k, v);
  const insert = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)');
  const batch = db.transaction((rows) => {
    for (const row of rows) insert.run(...row);
  });
  let written = 0;
  let rows = [];
  for (let z = 0; written < tiles; z++) {
    const side = 2 ** z;
    for (let i = 0; i < side * side && written < tiles; i++, written++) {
      const tile = randomBytes(randomInt(1024, 9 * 1024 + 1));
      tile[0] = 0x1f; // gzip magic: passes as a vector tile
      tile[1] = 0x8b;
      rows.push([z, i % side, Math.floor(i / side), tile]);
      if (rows.length === 5000) {
        batch(rows);
        rows = [];
      }
    }
  }
  batch(rows);
  db.close();
  renameSync(partial, path);
  return tiles;
}
