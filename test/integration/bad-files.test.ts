import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, execSql, removeDir, tempDir, truncatedCopy, writeBytes } from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface Health {
  status: string;
  tilesets: Record<string, { state: string; reason?: string; version?: string; warnings?: string[] }>;
}

/** Each broken file, and words its failure reason must contain so an operator knows what to fix. */
const BROKEN: [id: string, reason: RegExp][] = [
  ['invalid', /MBTiles|SQLite|database/i],
  ['zero-bytes', /no metadata table/],
  ['not-sqlite', /cannot open as SQLite|not a database/i],
  ['truncated', /malformed|cannot be read|not a database/i],
  ['no-metadata', /no metadata table/],
  ['no-tiles', /no tiles table or view/],
  ['wrong-format', /metadata format is png but tile .* is pbf/],
  ['garbage-tile', /metadata format is png but tile .* is not an image/],
  ['unknown-format', /metadata format "tiff" is not one of/],
  ['empty-no-zooms', /no tiles, and no minzoom\/maxzoom/],
  ['empty-no-format', /no format in metadata and no tiles/],
];

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('world_cities.mbtiles', dir);
  copyFixture('invalid.mbtiles', dir);
  writeBytes(join(dir, 'zero-bytes.mbtiles'), '');
  writeBytes(join(dir, 'not-sqlite.mbtiles'), 'this is a text file, not a tileset\n'.repeat(100));
  // Half of a file as a copy interrupted midway leaves it: the header says more pages than exist.
  truncatedCopy(copyFixture('countries.mbtiles', dir, 'full.tmp'), join(dir, 'truncated.mbtiles'), 200_000);
  execSql(copyFixture('world_cities.mbtiles', dir, 'no-metadata.mbtiles'), 'DROP TABLE metadata');
  execSql(copyFixture('world_cities.mbtiles', dir, 'no-tiles.mbtiles'), 'DROP TABLE tiles');
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'wrong-format.mbtiles'),
    "UPDATE metadata SET value = 'png' WHERE name = 'format'",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'garbage-tile.mbtiles'),
    "UPDATE metadata SET value = 'png' WHERE name = 'format'; UPDATE tiles SET tile_data = X'00010203040506070809'",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'unknown-format.mbtiles'),
    "UPDATE metadata SET value = 'tiff' WHERE name = 'format'",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'empty-no-zooms.mbtiles'),
    "DELETE FROM tiles; DELETE FROM metadata WHERE name IN ('minzoom', 'maxzoom')",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'empty-no-format.mbtiles'),
    "DELETE FROM tiles; DELETE FROM metadata WHERE name = 'format'",
  );
  server = await startTestServer(dir);
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

describe('bad files', () => {
  it('keeps serving the good tileset beside them', async () => {
    const res = await getGzip(`${server.url}/tiles/world_cities/0/0/0.pbf`);
    expect(res.status).toBe(200);
    expect(json<{ id: string }[]>(await rawRequest(`${server.url}/catalog.json`)).map((e) => e.id)).toEqual(['world_cities']);
  });

  it('lists each broken file as failed in /health with a reason that says what is wrong', async () => {
    const res = await rawRequest(`${server.url}/health`);
    expect(res.status).toBe(200);
    const health = json<Health>(res);
    expect(health.status).toBe('degraded');
    expect(health.tilesets.world_cities?.state).toBe('ok');
    for (const [id, reason] of BROKEN) {
      expect(health.tilesets[id]?.state, id).toBe('failed');
      expect(health.tilesets[id]?.reason, id).toMatch(reason);
    }
  });

  it('logs one error line per broken file, naming the file and the reason', () => {
    for (const [id, reason] of BROKEN) {
      const lines = server.logs.filter((l) => l.level === 'error' && l.fields.tileset === id);
      expect(lines, id).toHaveLength(1);
      expect(String(lines[0]!.fields.reason)).toMatch(reason);
      expect(String(lines[0]!.fields.path)).toBe(join(dir, `${id}.mbtiles`));
    }
  });

  it('answers 404 no-store for tiles and TileJSON of a failed tileset, never 5xx', async () => {
    for (const [id] of BROKEN) {
      for (const path of [`/tiles/${id}.json`, `/tiles/${id}/0/0/0.pbf`, `/tiles/${id}/0/0/0.png`]) {
        const res = await rawRequest(`${server.url}${path}`);
        expect(res.status, path).toBe(404);
        expect(header(res, 'cache-control')).toBe('no-store');
        expect(json<{ error: string }>(res).error).toMatch(/failed to load/);
      }
    }
  });

  it('leaves no handle open on a rejected file', () => {
    // /proc/self/fd lists what this process holds; the server runs in it.
    const open = readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return [];
      }
    });
    for (const [id] of BROKEN) expect(open, id).not.toContain(join(dir, `${id}.mbtiles`));
    expect(open).toContain(join(dir, 'world_cities.mbtiles'));
  });
});
