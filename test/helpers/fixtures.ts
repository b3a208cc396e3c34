import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const REPO = join(FIXTURES, '..', '..');

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'tilestamp-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Copies a committed fixture into `dir` (optionally under another name) and returns its path. */
export function copyFixture(name: string, dir: string, as = name): string {
  const target = join(dir, as);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(FIXTURES, name), target);
  return target;
}

/** Every tile row of a file, read straight from SQLite: the ground truth tests compare with. */
export interface StoredTile {
  z: number;
  x: number;
  /** TMS row, as stored. */
  y: number;
  data: Buffer;
}

export function readStoredTiles(path: string): StoredTile[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare('SELECT zoom_level AS z, tile_column AS x, tile_row AS y, tile_data AS data FROM tiles ORDER BY 1, 2, 3')
      .all() as StoredTile[];
  } finally {
    db.close();
  }
}

/** Runs SQL against a file (to break it on purpose, or to edit it). */
export function execSql(path: string, sql: string): void {
  const db = new Database(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Natural Earth land polygons (world-atlas), as GeoJSON, for GDAL to tile. */
function landGeoJson(dir: string): string {
  const path = join(dir, 'land.geojson');
  const out = execFileSync('node', [
    join(REPO, 'scripts/to-geojson.mjs'),
    join(REPO, 'node_modules/world-atlas/land-110m.json'),
    'land',
  ]);
  writeFileSync(path, out);
  return path;
}

/** A 512 px world in Web Mercator (zooms 0-1), sea and land, written as MBTiles by GDAL in `tileFormat`. */
export function gdalRaster(dir: string, name: string, tileFormat: 'PNG' | 'JPEG' | 'WEBP'): string {
  const work = tempDir('tilestamp-gdal-');
  try {
    const ext = '20037508.342789244';
    const tif = join(work, 'land.tif');
    run('gdal_create', [
      '-q',
      '-of',
      'GTiff',
      '-ot',
      'Byte',
      '-bands',
      '3',
      '-outsize',
      '512',
      '512',
      '-a_srs',
      'EPSG:3857',
      '-a_ullr',
      `-${ext}`,
      ext,
      ext,
      `-${ext}`,
      '-burn',
      '170',
      '-burn',
      '211',
      '-burn',
      '223',
      tif,
    ]);
    run('gdal_rasterize', [
      '-q',
      '-b',
      '1',
      '-b',
      '2',
      '-b',
      '3',
      '-burn',
      '200',
      '-burn',
      '220',
      '-burn',
      '180',
      '-l',
      'land',
      landGeoJson(work),
      tif,
    ]);
    const out = join(dir, name);
    run('gdal_translate', ['-q', '-of', 'MBTILES', '-co', `TILE_FORMAT=${tileFormat}`, tif, out]);
    run('gdaladdo', ['-q', '-oo', `TILE_FORMAT=${tileFormat}`, '-r', 'average', out, '2']);
    return out;
  } finally {
    removeDir(work);
  }
}

/** Land polygons as gzipped vector tiles (zooms 0-3), written by GDAL's ogr2ogr. */
export function gdalVector(dir: string, name: string): string {
  const work = tempDir('tilestamp-gdal-');
  try {
    const out = join(dir, name);
    run('ogr2ogr', ['-f', 'MBTILES', out, landGeoJson(work), '-nln', 'land', '-dsco', 'MAXZOOM=3', '-dsco', 'NAME=GDAL land']);
    return out;
  } finally {
    removeDir(work);
  }
}

/**
 * Writes a file in the deduplicated schema that @mapbox/mbtiles and tilelive write (`map` +
 * `images` joined by a `tiles` view, MD5 hex tile ids, `scheme=tms`), with the statements of
 * that library's `schema.sql` (BSD-2-Clause) that the schema needs. Tiles are given in XYZ and
 * stored as TMS rows. Written here with better-sqlite3 rather than by @mapbox/mbtiles, whose
 * sqlite3 dependency compiled SQLite a second time in every `npm ci`.
 */
export function writeDeduplicated(
  path: string,
  info: Record<string, string | number>,
  tiles: { z: number; x: number; y: number; data: Buffer }[],
): void {
  const db = new Database(path);
  try {
    db.exec(`
      CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT, grid_id TEXT);
      CREATE TABLE images (tile_data blob, tile_id text);
      CREATE TABLE metadata (name text, value text);
      CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);
      CREATE UNIQUE INDEX images_id ON images (tile_id);
      CREATE UNIQUE INDEX name ON metadata (name);
      CREATE VIEW tiles AS
        SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column, map.tile_row AS tile_row,
               images.tile_data AS tile_data
        FROM map JOIN images ON images.tile_id = map.tile_id;`);
    const meta = db.prepare('REPLACE INTO metadata (name, value) VALUES (?, ?)');
    const image = db.prepare('REPLACE INTO images (tile_id, tile_data) VALUES (?, ?)');
    const map = db.prepare('REPLACE INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (const [name, value] of Object.entries({ ...info, scheme: 'tms' })) meta.run(name, String(value));
      for (const t of tiles) {
        const id = createHash('md5').update(t.data).digest('hex');
        image.run(id, t.data);
        map.run(t.z, t.x, 2 ** t.z - 1 - t.y, id);
      }
    })();
  } finally {
    db.close();
  }
}

/** The tiles of world_cities, gunzipped: raw MVT for files that store tiles uncompressed. */
export function rawCityTiles(maxZoom: number): { z: number; x: number; y: number; data: Buffer }[] {
  return readStoredTiles(join(FIXTURES, 'world_cities.mbtiles'))
    .filter((t) => t.z <= maxZoom)
    .map((t) => ({ z: t.z, x: t.x, y: 2 ** t.z - 1 - t.y, data: gunzipSync(t.data) }));
}

/** Writes `bytes` as a file (for broken inputs). */
export function writeBytes(path: string, bytes: Buffer | string): string {
  writeFileSync(path, bytes);
  return path;
}

/** The first `length` bytes of a file, written to `target`: a half-written copy. */
export function truncatedCopy(source: string, target: string, length: number): string {
  writeFileSync(target, readFileSync(source).subarray(0, length));
  return target;
}
