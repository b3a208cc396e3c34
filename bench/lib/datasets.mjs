// The data sets of the benchmark: the two samples in data/ and a generated plain-schema file of
// ≥ 200k random 1–9 KiB tiles and ≥ 1 GB, made once into the cache folder and reused.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

/** A small seeded PRNG (mulberry32): the same walk and the same sample on every run. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every tile of `file` the servers can serve, as XYZ `[z, x, y, tmsRow]`, shuffled with a fixed
 * seed; `limit` keeps a random sample of a big file, with a few tiles of every zoom. Tiles outside the tile
 * grid (GDAL writes some across the antimeridian) are left out: no server answers them.
 */
export function tileCoords(file, limit = Number.POSITIVE_INFINITY) {
  const db = new Database(file, { readonly: true });
  try {
    const coords = [];
    for (const { z, x, row } of db.prepare('SELECT zoom_level z, tile_column x, tile_row row FROM tiles').iterate()) {
      const side = 2 ** z;
      if (x >= 0 && x < side && row >= 0 && row < side) coords.push([z, x, side - 1 - row, row]);
    }
    const random = seededRandom(42);
    for (let i = coords.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [coords[i], coords[j]] = [coords[j], coords[i]];
    }
    if (coords.length <= limit) return coords;
    // A sample still walks every zoom: the first few tiles of each zoom, then the rest at random.
    const perZoom = new Map();
    const ranked = coords.map((c) => {
      perZoom.set(c[0], (perZoom.get(c[0]) ?? 0) + 1);
      return { c, rank: perZoom.get(c[0]) };
    });
    // one of each zoom, then a second of each, … (stable sort: still in random order within a rank)
    const first = ranked
      .filter((t) => t.rank <= 4)
      .sort((a, b) => a.rank - b.rank)
      .map((t) => t.c);
    const taken = new Set(first);
    return [...first, ...coords.filter((c) => !taken.has(c))].slice(0, limit);
  } finally {
    db.close();
  }
}

/** Copies a sample file into its own folder under `dir` (each server is given a folder of one file). */
export function sampleSet(dir, name, from) {
  const folder = join(dir, 'sets', name);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, from.split('/').at(-1));
  if (!existsSync(file) || statSync(file).size !== statSync(from).size) copyFileSync(from, file);
  return { name, folder, file };
}

const BIG_DONE = 'bench_complete';

/**
 * The big file (`tiles` tiles of random 1–9 KiB, gzip-wrapped so they are valid compressed vector
 * tiles, zooms filled from 0 up), made once and reused; a half-written one is never taken.
 */
export function bigSet(dir, tiles, log) {
  const folder = join(dir, 'sets', `big-${tiles}`);
  const file = join(folder, 'big.mbtiles');
  if (existsSync(file) && isComplete(file)) return { name: 'big', folder, file };
  mkdirSync(folder, { recursive: true });
  const staged = join(dir, 'sets', `.big-${tiles}.mbtiles.tmp`);
  rmSync(staged, { force: true });
  log(`making the big file once: ${tiles} random tiles of 1–9 KiB into ${file} (about a minute)`);
  const started = Date.now();
  const db = new Database(staged);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.exec(`CREATE TABLE metadata (name text, value text);
    CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
    CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);`);
  let maxzoom = 0;
  while ((4 ** (maxzoom + 1) - 1) / 3 < tiles) maxzoom += 1;
  const meta = db.prepare('INSERT INTO metadata VALUES (?, ?)');
  const vectorLayers = JSON.stringify({ vector_layers: [{ id: 'random', fields: {}, minzoom: 0, maxzoom }] });
  for (const row of [
    ['name', 'big'],
    ['format', 'pbf'],
    ['minzoom', '0'],
    ['maxzoom', String(maxzoom)],
    ['json', vectorLayers],
  ])
    meta.run(...row);
  const insert = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)');
  const pool = randomBytes(64 * 1024 * 1024);
  const random = seededRandom(7);
  const write = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const [z, x, row] = nthTile(i);
      const size = 1024 + Math.floor(random() * 8 * 1024);
      const start = Math.floor(random() * (pool.length - size));
      const raw = Buffer.from(pool.subarray(start, start + size));
      raw.writeUInt32BE(i, 0); // no two tiles alike
      insert.run(z, x, row, gzipSync(raw, { level: 0 }));
    }
  });
  for (let from = 0; from < tiles; from += 10_000) write(from, Math.min(tiles, from + 10_000));
  meta.run(BIG_DONE, 'yes');
  db.close();
  renameSync(staged, file);
  log(`made ${file}: ${(statSync(file).size / 1e9).toFixed(2)} GB in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { name: 'big', folder, file };
}

function isComplete(file) {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT value FROM metadata WHERE name = ?').get(BIG_DONE) !== undefined;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** The i-th tile when zooms are filled in order (all of z0, then z1, …), as [z, x, tmsRow]. */
function nthTile(i) {
  let z = 0;
  let rest = i;
  while (rest >= 4 ** z) {
    rest -= 4 ** z;
    z += 1;
  }
  const side = 2 ** z;
  return [z, rest % side, Math.floor(rest / side)];
}
