import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFixture, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, rawRequest } from '../helpers/http.ts';
import { holdExclusiveLock } from '../helpers/lock.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface Health {
  status: string;
  tilesets: Record<
    string,
    { state: string; busy?: { reason: string; count: number }; broken?: { reason: string; count: number } }
  >;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(dir: string, overrides: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
  const server = await startTestServer(dir, overrides);
  cleanups.push(() => server.close());
  return server;
}

function folder(): string {
  const dir = tempDir();
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** A small vector MBTiles file written row by row, with metadata enough to load it without reading every tile. */
function writeTiles(path: string, tiles: { z: number; x: number; y: number; data: Buffer; asText?: boolean }[]): void {
  const db = new Database(path);
  db.exec(`
    CREATE TABLE metadata (name TEXT, value TEXT);
    CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
    CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);`);
  const meta = db.prepare('INSERT INTO metadata VALUES (?, ?)');
  for (const [name, value] of Object.entries({
    name: 'test',
    format: 'pbf',
    minzoom: '0',
    maxzoom: '1',
    json: JSON.stringify({ vector_layers: [{ id: 'x', fields: {} }] }),
    agg_tiles_hash: 'fixed-version',
  })) {
    meta.run(name, value);
  }
  const blob = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, ?)');
  const text = db.prepare('INSERT INTO tiles VALUES (?, ?, ?, CAST(? AS TEXT))');
  for (const t of tiles) (t.asText ? text : blob).run(t.z, t.x, t.y, t.data);
  db.close();
}

const health = async (server: TestServer) => json<Health>(await rawRequest(`${server.url}/health`));
const metrics = async (server: TestServer) => (await rawRequest(`${server.url}/metrics`)).body.toString();

describe('tile_data stored as TEXT', () => {
  it('is served as the stored bytes, also when they are not valid UTF-8', async () => {
    const dir = folder();
    const bytes = Buffer.from([0x1a, 0x03, 0xff, 0xfe, 0x80, 0x41, 0xc3]);
    writeTiles(join(dir, 'text.mbtiles'), [{ z: 0, x: 0, y: 0, data: bytes, asText: true }]);
    const db = new Database(join(dir, 'text.mbtiles'), { readonly: true });
    expect(db.prepare('SELECT typeof(tile_data) AS t FROM tiles').get()).toEqual({ t: 'text' });
    db.close();
    const server = await serve(dir);
    const tile = await rawRequest(`${server.url}/tiles/text/0/0/0.pbf`);
    expect(tile.status).toBe(200);
    expect([...tile.body]).toEqual([...bytes]);
  });
});

describe('a file locked by another process (EXCLUSIVE)', () => {
  it('answers 503 with Retry-After at once, shows it in /health and /metrics, and logs it once', async () => {
    const dir = folder();
    const path = copyFixture('world_cities.mbtiles', dir);
    const server = await serve(dir);
    const lock = await holdExclusiveLock(path);
    let released = false;
    cleanups.push(() => (released ? undefined : lock.release()));
    for (let i = 0; i < 4; i++) {
      const res = await rawRequest(`${server.url}/tiles/world_cities/0/0/0.pbf`);
      expect(res.status).toBe(503);
      expect(header(res, 'retry-after')).toBe('1');
      expect(json<{ error: string }>(res).error).toBe('tileset world_cities is locked by another process');
    }
    const seen = await health(server);
    expect(seen.tilesets.world_cities).toMatchObject({ state: 'ok', busy: { count: 4 } });
    expect(seen.tilesets.world_cities?.busy?.reason).toMatch(/locked/);
    expect(await metrics(server)).toMatch(/tilestamp_tile_read_errors_total\{kind="busy"\} 4/);
    expect(server.logs.filter((l) => l.level === 'warn' && l.fields.tileset === 'world_cities')).toHaveLength(1);
    await lock.release();
    released = true;
    expect((await rawRequest(`${server.url}/tiles/world_cities/0/0/0.pbf`)).status).toBe(200);
  });
});

/** Points a middle overflow page of the big tile (filled with 0xab) past the end of the file. */
function breakOverflowChain(path: string): void {
  const bytes = readFileSync(path);
  const pageSize = bytes.readUInt16BE(16);
  for (let page = 1; page * pageSize < bytes.length; page++) {
    const body = bytes.subarray(page * pageSize + 4, (page + 1) * pageSize);
    if (body.every((b) => b === 0xab)) {
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.from([0x7f, 0xff, 0xff, 0xff]), 0, 4, page * pageSize);
      closeSync(fd);
      return;
    }
  }
  throw new Error('no overflow page found');
}

describe('a file SQLite cannot read (corrupt)', () => {
  it('answers 500 (not "being replaced"), degrades /health, counts in /metrics, logs once at error', async () => {
    const dir = folder();
    const path = join(dir, 'broken.mbtiles');
    writeTiles(path, [
      { z: 0, x: 0, y: 0, data: Buffer.from([0x1a, 0x00]) },
      { z: 1, x: 0, y: 0, data: Buffer.alloc(40_000, 0xab) },
    ]);
    breakOverflowChain(path);
    const server = await serve(dir, { versioning: { from: 'metadata', key: undefined } });
    expect((await rawRequest(`${server.url}/tiles/broken/0/0/0.pbf`)).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const res = await rawRequest(`${server.url}/tiles/broken/1/0/1.pbf`);
      expect(res.status).toBe(500);
      expect(header(res, 'retry-after')).toBeUndefined();
      expect(json<{ error: string }>(res).error).toBe('tileset broken cannot be read (see /health)');
    }
    const seen = await health(server);
    expect(seen.status).toBe('degraded');
    expect(seen.tilesets.broken).toMatchObject({ state: 'ok', broken: { count: 3 } });
    expect(seen.tilesets.broken?.broken?.reason).toMatch(/malformed|corrupt/i);
    expect(await metrics(server)).toMatch(/tilestamp_tile_read_errors_total\{kind="broken"\} 3/);
    const errors = server.logs.filter((l) => l.level === 'error' && l.fields.tileset === 'broken');
    expect(errors).toHaveLength(1);
  });
});
