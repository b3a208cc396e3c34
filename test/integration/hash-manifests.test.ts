import { createHash } from 'node:crypto';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, execSql, readStoredTiles, removeDir, tempDir, writeDeduplicated } from '../helpers/fixtures.ts';
import { getGzip, header, json, type RawResponse, rawRequest } from '../helpers/http.ts';
import { solidPng, tileColour } from '../helpers/png.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type RawTile, writeTilesFile } from '../helpers/tiles-file.ts';

// Hash manifests over real files: every entry is the tile's ETag, blocks end where the zoom
// range ends, missing tiles are absent, and a swap never serves an old manifest as current.

const IMMUTABLE = 'public, max-age=31536000, immutable';

interface Manifest {
  version: string;
  tiles: Record<string, string>;
}

/** XYZ tiles of a raster tileset: zooms 0–4 complete, 5–7 under the z5 tiles x 3–4, y 2, with holes. */
function rasterTiles(generation = 0): { z: number; x: number; y: number; data: Buffer }[] {
  const tiles = [];
  for (let z = 0; z <= 7; z++) {
    for (let x = 0; x < 2 ** z; x++) {
      for (let y = 0; y < 2 ** z; y++) {
        if (z >= 5) {
          const d = z - 5;
          if (![3, 4].includes(x >> d) || y >> d !== 2 || (x + y) % 5 === 0) continue;
        }
        tiles.push({ z, x, y, data: solidPng(tileColour(z, x, y, generation), 4) });
      }
    }
  }
  return tiles;
}

const asTms = (tiles: { z: number; x: number; y: number; data: Buffer }[]): RawTile[] =>
  tiles.map((t) => ({ z: t.z, x: t.x, y: 2 ** t.z - 1 - t.y, data: t.data }));

/** The `z/x/y` keys a block must list, computed from XYZ tiles. */
function expectedKeys(tiles: { z: number; x: number; y: number }[], bz: number, bx: number, by: number): string[] {
  return tiles
    .filter((t) => t.z >= bz && t.z < bz + 5 && t.x >> (t.z - bz) === bx && t.y >> (t.z - bz) === by)
    .map((t) => `${t.z}/${t.x}/${t.y}`)
    .sort();
}

const etagOf = (res: RawResponse) => String(header(res, 'etag')).replaceAll('"', '');

let dir: string;
let server: TestServer;
const tiles = rasterTiles();
const half: { z: number; x: number; y: number; data: Buffer }[] = [];

beforeAll(async () => {
  dir = tempDir();
  writeTilesFile(join(dir, 'raster.mbtiles'), asTms(tiles), { format: 'png', minzoom: '0', maxzoom: '7' });
  // From zoom 2 only: the block at zoom 0 lists zooms 2–4.
  writeTilesFile(join(dir, 'deep.mbtiles'), asTms(tiles.filter((t) => t.z >= 2 && t.z <= 4)), {
    format: 'png',
    minzoom: '2',
    maxzoom: '4',
  });
  // Half the tiles share one image: the deduplicated schema (@mapbox/mbtiles, MD5 ids).
  const sea = solidPng([0, 0, 200], 4);
  for (const t of tiles.filter((t) => t.z <= 4)) half.push({ ...t, data: (t.x + t.y) % 2 === 0 ? sea : t.data });
  writeDeduplicated(join(dir, 'dedup.mbtiles'), { name: 'dedup', format: 'png', minzoom: 0, maxzoom: 4 }, half);
  copyFixture('countries.mbtiles', dir);
  server = await startTestServer(dir, { watch: true, settleMs: 100 });
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

const versionOf = async (id: string) =>
  json<{ id: string; version: string }[]>(await rawRequest(`${server.url}/catalog.json`)).find((t) => t.id === id)!.version;

/** Every entry's H is the tile's ETag and addresses the tile immutably by `?h=`. */
async function expectEntriesAreEtags(id: string, ext: string, manifest: Manifest): Promise<void> {
  for (const [key, hash] of Object.entries(manifest.tiles)) {
    const res = await getGzip(`${server.url}/tiles/${id}/${key}.${ext}?v=${manifest.version}`);
    expect(res.status, key).toBe(200);
    expect(etagOf(res), key).toBe(hash);
    const byHash = await getGzip(`${server.url}/tiles/${id}/${key}.${ext}?h=${hash}`);
    expect(header(byHash, 'cache-control'), key).toBe(IMMUTABLE);
    expect(byHash.body.equals(res.body)).toBe(true);
  }
}

describe('GET /tiles/{id}/hashes/{z}/{x}/{y}.json', () => {
  it('TileJSON names the template; the current v is immutable and lists every tile of the block, as ETags', async () => {
    const v = await versionOf('raster');
    const tj = json<{ tilestamp: { hashes: string } }>(await rawRequest(`${server.url}/tiles/raster.json`));
    expect(tj.tilestamp.hashes).toBe(`${server.url}/tiles/raster/hashes/{z}/{x}/{y}.json?v=${v}`);
    for (const [z, x, y] of [
      [0, 0, 0],
      [5, 3, 2],
      [5, 4, 2],
    ] as const) {
      const url = tj.tilestamp.hashes.replace('{z}', String(z)).replace('{x}', String(x)).replace('{y}', String(y));
      const res = await rawRequest(url);
      expect(res.status).toBe(200);
      expect(header(res, 'cache-control')).toBe(IMMUTABLE);
      expect(header(res, 'content-type')).toBe('application/json; charset=utf-8');
      expect(header(res, 'access-control-allow-origin')).toBe('*');
      const manifest = json<Manifest>(res);
      expect(manifest.version).toBe(v);
      // Zoom 0 block: zooms 0–4, all 341; the z5 blocks: zooms 5–7 only (the range ends at 7), with holes.
      expect(Object.keys(manifest.tiles).sort()).toEqual(expectedKeys(tiles, z, x, y));
      expect(Object.keys(manifest.tiles).length).toBeLessThanOrEqual(341);
      await expectEntriesAreEtags('raster', 'png', manifest);
    }
    expect(Object.keys(json<Manifest>(await rawRequest(`${server.url}/tiles/raster/hashes/0/0/0.json`)).tiles)).toHaveLength(341);
  });

  it('lists the neighbours exactly: nothing of the block beside it (XYZ rows, not TMS)', async () => {
    const a = json<Manifest>(await rawRequest(`${server.url}/tiles/raster/hashes/5/3/2.json`));
    const b = json<Manifest>(await rawRequest(`${server.url}/tiles/raster/hashes/5/4/2.json`));
    expect(Object.keys(a.tiles).some((k) => k in b.tiles)).toBe(false);
    expect(Object.keys(a.tiles)).toContain('7/12/9');
    expect(Object.keys(a.tiles)).toContain('7/15/11');
    expect(Object.keys(a.tiles)).not.toContain('7/16/8');
    // The mirrored row (TMS y 2 at zoom 5 is XYZ 29) lists nothing: there are no tiles.
    expect(json<Manifest>(await rawRequest(`${server.url}/tiles/raster/hashes/5/3/29.json`)).tiles).toEqual({});
  });

  it('starts a block at the first zoom of the range', async () => {
    const manifest = json<Manifest>(await rawRequest(`${server.url}/tiles/deep/hashes/0/0/0.json`));
    expect(Object.keys(manifest.tiles).sort()).toEqual(
      expectedKeys(
        tiles.filter((t) => t.z >= 2 && t.z <= 4),
        0,
        0,
        0,
      ),
    );
    expect(Object.keys(manifest.tiles)).toHaveLength(16 + 64 + 256); // zooms 2–4
  });

  it('a file with half its tiles deduplicated: one hash per image, the ETags', async () => {
    const manifest = json<Manifest>(await rawRequest(`${server.url}/tiles/dedup/hashes/0/0/0.json`));
    expect(Object.keys(manifest.tiles)).toHaveLength(half.length);
    const hashes = Object.values(manifest.tiles);
    expect(new Set(hashes).size).toBe(new Set(half.map((t) => t.data.toString('hex'))).size);
    expect(new Set(hashes).size).toBeLessThan(half.length / 2 + 2);
    await expectEntriesAreEtags('dedup', 'png', manifest);
  });

  it('a vector file (tippecanoe, deduplicated) too', async () => {
    const v = await versionOf('countries');
    const manifest = json<Manifest>(await rawRequest(`${server.url}/tiles/countries/hashes/0/0/0.json?v=${v}`));
    const stored = readStoredTiles(join(dir, 'countries.mbtiles')).filter((t) => t.z <= 4);
    expect(Object.keys(manifest.tiles)).toHaveLength(stored.length);
    await expectEntriesAreEtags('countries', 'pbf', manifest);
  });

  it.each([
    ['another v: the current manifest, no-cache', '/tiles/raster/hashes/0/0/0.json?v=0000000000000000', 200, 'no-cache'],
    ['no v', '/tiles/raster/hashes/0/0/0.json', 200, 'no-cache'],
    ['v twice', '/tiles/raster/hashes/0/0/0.json?v=a&v=b', 200, 'no-cache'],
    ['z not a multiple of 5', '/tiles/raster/hashes/3/0/0.json', 400, 'no-store'],
    ['off the grid', '/tiles/raster/hashes/5/32/0.json', 404, 'no-store'],
    ['beyond the zoom range', '/tiles/raster/hashes/10/0/0.json', 404, 'no-store'],
    ['malformed', '/tiles/raster/hashes/5/01/0.json', 400, 'no-store'],
    ['garbage', '/tiles/raster/hashes/x/y/z.json', 400, 'no-store'],
    ['unknown tileset', '/tiles/nope/hashes/0/0/0.json', 404, 'no-store'],
  ])('%s → %d %s', async (_name, path, status, cacheControl) => {
    const res = await rawRequest(`${server.url}${path}`);
    expect(res.status).toBe(status);
    expect(header(res, 'cache-control')).toBe(cacheControl);
    if (status === 200) expect(json<Manifest>(res).version).toBe(await versionOf('raster'));
    else expect(res.body.toString()).not.toContain(dir);
  });

  it('answers HEAD and 304', async () => {
    const url = `${server.url}/tiles/raster/hashes/5/3/2.json?v=${await versionOf('raster')}`;
    const first = await rawRequest(url);
    const head = await rawRequest(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toHaveLength(0);
    const again = await rawRequest(url, { headers: { 'If-None-Match': String(header(first, 'etag')) } });
    expect(again.status).toBe(304);
  });

  it('after a swap: the new version, the new hashes, unchanged tiles keep theirs', async () => {
    const before = await versionOf('raster');
    const old = json<Manifest>(await rawRequest(`${server.url}/tiles/raster/hashes/5/3/2.json?v=${before}`));
    const next = tiles.map((t) => (t.z === 6 && t.x === 7 && t.y === 4 ? { ...t, data: solidPng([255, 0, 255], 4) } : t));
    const staged = join(dir, '.next.tmp');
    writeTilesFile(staged, asTms(next), { format: 'png', minzoom: '0', maxzoom: '7' });
    renameSync(staged, join(dir, 'raster.mbtiles'));
    await server.rescan('test');
    const after = await versionOf('raster');
    expect(after).not.toBe(before);
    const stale = await rawRequest(`${server.url}/tiles/raster/hashes/5/3/2.json?v=${before}`);
    expect(header(stale, 'cache-control')).toBe('no-cache');
    const manifest = json<Manifest>(stale);
    expect(manifest.version).toBe(after);
    const changed = Object.keys(old.tiles).filter((k) => old.tiles[k] !== manifest.tiles[k]);
    expect(changed).toEqual(['6/7/4']);
    await expectEntriesAreEtags('raster', 'png', manifest);
    // The old hash of the changed tile now gets the new bytes, no-cache.
    const res = await rawRequest(`${server.url}/tiles/raster/6/7/4.png?h=${old.tiles['6/7/4']}`);
    expect(header(res, 'cache-control')).toBe('no-cache');
    expect(res.body.equals(solidPng([255, 0, 255], 4))).toBe(true);
  });
});

describe('stored tile ids that are not content hashes', () => {
  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex').slice(0, 16);

  it('a deduplicated file whose ids are random hex: H is the hash of the bytes, and a refresh reusing the ids is never immutable for other bytes', async () => {
    const own = tempDir();
    const write = (path: string, generation: number) => {
      const raster = rasterTiles(generation).filter((t) => t.z <= 2);
      writeDeduplicated(path, { name: 'ids', format: 'png', minzoom: 0, maxzoom: 2 }, raster);
      // Ids as a pipeline might give them: 32 hex digits, one per image, the same at every refresh.
      execSql(
        path,
        `UPDATE map SET tile_id = (SELECT printf('%032x', images.rowid) FROM images WHERE images.tile_id = map.tile_id);
         UPDATE images SET tile_id = printf('%032x', rowid);`,
      );
      return raster;
    };
    const first = write(join(own, 'ids.mbtiles'), 0);
    const served = await startTestServer(own, { watch: true, settleMs: 100 });
    try {
      const before = json<Manifest>(await rawRequest(`${served.url}/tiles/ids/hashes/0/0/0.json`));
      const one = first.find((t) => t.z === 1 && t.x === 1 && t.y === 0)!;
      const h = before.tiles['1/1/0'];
      expect(h).toBe(sha(one.data));
      expect(etagOf(await rawRequest(`${served.url}/tiles/ids/1/1/0.png`))).toBe(h);
      const staged = join(own, '.next.tmp');
      const next = write(staged, 1);
      renameSync(staged, join(own, 'ids.mbtiles'));
      await served.rescan('test');
      const changed = next.find((t) => t.z === 1 && t.x === 1 && t.y === 0)!;
      expect(changed.data.equals(one.data)).toBe(false);
      const res = await rawRequest(`${served.url}/tiles/ids/1/1/0.png?h=${h}`);
      expect(res.body.equals(changed.data)).toBe(true);
      expect(header(res, 'cache-control')).toBe('no-cache');
    } finally {
      await served.close();
      removeDir(own);
    }
  });

  it('a tippecanoe file: H and the ETag are the hash of the stored bytes too', async () => {
    const stored = readStoredTiles(join(dir, 'countries.mbtiles')).filter((t) => t.z <= 1);
    const manifest = json<Manifest>(await rawRequest(`${server.url}/tiles/countries/hashes/0/0/0.json`));
    for (const t of stored) {
      const key = `${t.z}/${t.x}/${2 ** t.z - 1 - t.y}`;
      expect(manifest.tiles[key], key).toBe(sha(t.data));
    }
  });
});

describe('a file written in place', () => {
  it('answers a manifest 503 with Retry-After, no-store, until a reload takes the file', async () => {
    const own = tempDir();
    const path = join(own, 'raster.mbtiles');
    writeTilesFile(path, asTms(tiles), { format: 'png', minzoom: '0', maxzoom: '7' });
    const quiet = await startTestServer(own); // no watching, no polling: nothing reloads behind the test
    try {
      expect((await rawRequest(`${quiet.url}/tiles/raster/hashes/5/3/2.json`)).status).toBe(200);
      execSql(path, "UPDATE tiles SET tile_data = X'00' WHERE zoom_level = 0");
      const res = await rawRequest(`${quiet.url}/tiles/raster/hashes/0/0/0.json`);
      expect(res.status).toBe(503);
      expect(header(res, 'retry-after')).toBe('1');
      expect(header(res, 'cache-control')).toBe('no-store');
      expect(res.body.toString()).not.toContain(own);
    } finally {
      await quiet.close();
      removeDir(own);
    }
  });
});
