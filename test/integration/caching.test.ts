import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, readStoredTiles, removeDir, type StoredTile, tempDir, writeDeduplicated } from '../helpers/fixtures.ts';
import { getGzip, header, json, type RawResponse, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';
let dir: string;
let server: TestServer;
let versions: Record<string, string>;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  copyFixture('countries-rebuilt.mbtiles', dir);
  copyFixture('countries-v2.mbtiles', dir);
  copyFixture('world_cities.mbtiles', dir);
  // world_cities with one tile changed: the plain schema, where ETags are computed from bytes.
  const edited = copyFixture('world_cities.mbtiles', dir, 'cities-edited.mbtiles');
  const db = new Database(edited);
  db.prepare('UPDATE tiles SET tile_data = ? WHERE zoom_level = 1 AND tile_column = 0 AND tile_row = 1').run(
    Buffer.concat([readStoredTiles(edited).find((t) => t.z === 1 && t.x === 0 && t.y === 1)!.data, Buffer.from([0])]),
  );
  db.close();
  // The same pair in the deduplicated schema of @mapbox/mbtiles: MD5 tile ids.
  const tiles = readStoredTiles(edited).map((t) => ({ z: t.z, x: t.x, y: 2 ** t.z - 1 - t.y, data: t.data }));
  const info = { name: 'cities', format: 'pbf', minzoom: 0, maxzoom: 6 };
  writeDeduplicated(join(dir, 'dedup-edited.mbtiles'), info, tiles);
  writeDeduplicated(
    join(dir, 'dedup.mbtiles'),
    info,
    readStoredTiles(join(dir, 'world_cities.mbtiles')).map((t) => ({ z: t.z, x: t.x, y: 2 ** t.z - 1 - t.y, data: t.data })),
  );
  server = await startTestServer(dir);
  versions = server.registry.versions();
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

const url = (path: string) => `${server.url}${path}`;
const tileUrl = (id: string, zxy: string, v?: string) => url(`/tiles/${id}/${zxy}.pbf${v === undefined ? '' : `?v=${v}`}`);

/** Asks again with the response's ETag, as a browser or a CDN revalidating would. */
function revalidate(target: string, first: RawResponse, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(target, { headers: { ...headers, 'If-None-Match': header(first, 'etag') as string } });
}

describe('the policy table, by HTTP', () => {
  it.each([
    ['v = current', (v: string) => v, IMMUTABLE],
    ['no v', () => undefined, 'public, max-age=60'],
    ['stale v', () => '0123456789abcdef', 'no-cache'],
    ['future v (a replica ahead of this one)', () => 'ffffffffffffffff', 'no-cache'],
    ['truncated v', (v: string) => v.slice(0, 15), 'no-cache'],
    ['garbage v', () => '../../etc', 'no-cache'],
  ])('tile with %s: %s, strong ETag, 304 on If-None-Match with the same policy', async (_, v, policy) => {
    const target = tileUrl('countries', '2/2/1', v(versions.countries!));
    const first = await getGzip(target);
    expect(first.status).toBe(200);
    expect(header(first, 'cache-control')).toBe(policy);
    expect(header(first, 'etag')).toMatch(/^"[^"]+"$/);
    expect(header(first, 'x-tilestamp-version')).toBe(versions.countries);
    const again = await revalidate(target, first, { 'Accept-Encoding': 'gzip' });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    // RFC 9110 15.4.5: a 304 carries the ETag, Cache-Control and Vary a 200 would have.
    expect(header(again, 'etag')).toBe(header(first, 'etag'));
    expect(header(again, 'cache-control')).toBe(policy);
    expect(header(again, 'vary')).toMatch(/accept-encoding/i);
    expect(header(again, 'content-encoding')).toBeUndefined();
  });

  it.each(['/tiles/countries.json', '/catalog.json', '/api/tile-version', '/'])(
    '%s: no-cache, must-revalidate, an ETag over the body, 304 on If-None-Match',
    async (path) => {
      const first = await rawRequest(url(path));
      expect(first.status).toBe(200);
      expect(header(first, 'cache-control')).toBe('no-cache, must-revalidate');
      const etag = header(first, 'etag') as string;
      expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
      const again = await revalidate(url(path), first);
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      expect(header(again, 'cache-control')).toBe('no-cache, must-revalidate');
      const other = await rawRequest(url(path), { headers: { 'If-None-Match': 'W/"something-else"' } });
      expect(other.status).toBe(200);
    },
  );

  it('gives discovery documents a new ETag when their body differs (another public URL)', async () => {
    const a = await rawRequest(url('/tiles/countries.json'));
    const b = await rawRequest(url('/tiles/countries.json'), { headers: { Host: 'tiles.example.org' } });
    expect(header(a, 'etag')).not.toBe(header(b, 'etag'));
  });

  it.each([
    ['unknown tileset', '/tiles/nope/0/0/0.pbf', 404],
    ['malformed coordinates', '/tiles/countries/0/0/x.pbf', 400],
    ['off the grid', '/tiles/countries/1/5/0.pbf', 404],
    ['unknown route', '/nope', 404],
  ])('%s: %i, no-store, no ETag', async (_, path, status) => {
    const res = await rawRequest(url(path), { headers: { 'If-None-Match': '*' } });
    expect(res.status).toBe(status);
    expect(header(res, 'cache-control')).toBe('no-store');
    expect(header(res, 'etag')).toBeUndefined();
  });

  it('answers 503 no-store with Retry-After while a tileset is loading, and /ready likewise', async () => {
    const entry = server.registry.get('world_cities');
    expect(entry?.state).toBe('ok');
    const probe = await startTestServer(dir);
    try {
      probe.registry.set({ state: 'loading', id: 'world_cities', path: join(dir, 'world_cities.mbtiles') });
      const res = await rawRequest(`${probe.url}/tiles/world_cities/0/0/0.pbf`);
      expect(res.status).toBe(503);
      expect(header(res, 'retry-after')).toMatch(/^[1-9][0-9]*$/);
      expect(header(res, 'cache-control')).toBe('no-store');
    } finally {
      await probe.close();
    }
  });
});

describe('tile ETags follow the bytes, not the version', () => {
  /** Tiles of two files at the same coordinates, split into unchanged and changed. */
  function compare(a: string, b: string): { same: StoredTile[]; changed: StoredTile[] } {
    const other = new Map(readStoredTiles(join(dir, b)).map((t) => [`${t.z}/${t.x}/${t.y}`, t.data]));
    const same: StoredTile[] = [];
    const changed: StoredTile[] = [];
    for (const t of readStoredTiles(join(dir, a))) {
      const o = other.get(`${t.z}/${t.x}/${t.y}`);
      if (o === undefined || t.x >= 2 ** t.z || t.y >= 2 ** t.z || t.x < 0 || t.y < 0) continue;
      (o.equals(t.data) ? same : changed).push(t);
    }
    return { same, changed };
  }
  const zxy = (t: StoredTile) => `${t.z}/${t.x}/${2 ** t.z - 1 - t.y}`;
  const etagOf = async (id: string, t: StoredTile) => header(await getGzip(tileUrl(id, zxy(t))), 'etag');

  it('keeps the ETag of a tile a refresh did not change, so it revalidates to 304 under the new version', async () => {
    // Deduplicated schema (@mapbox/mbtiles): the ETag follows the bytes there too.
    const { same, changed } = compare('dedup.mbtiles', 'dedup-edited.mbtiles');
    expect(changed).toHaveLength(1);
    expect(versions['dedup-edited']).not.toBe(versions.dedup);
    for (const t of same.filter((_, i) => i % 5 === 0)) {
      const before = await getGzip(tileUrl('dedup', zxy(t), versions.dedup));
      const after = await revalidate(tileUrl('dedup-edited', zxy(t), versions['dedup-edited']), before, {
        'Accept-Encoding': 'gzip',
      });
      expect(after.status, zxy(t)).toBe(304);
      expect(header(after, 'cache-control')).toBe(IMMUTABLE);
    }
    const t = changed[0]!;
    const before = await getGzip(tileUrl('dedup', zxy(t)));
    const after = await revalidate(tileUrl('dedup-edited', zxy(t)), before, { 'Accept-Encoding': 'gzip' });
    expect(after.status).toBe(200);
    expect(after.body.equals(before.body)).toBe(false);
  });

  it('changes the ETag of every tile tippecanoe rewrote (countries-v2 changed them all)', async () => {
    const { same, changed } = compare('countries.mbtiles', 'countries-v2.mbtiles');
    expect(same).toHaveLength(0);
    for (const t of changed.filter((_, i) => i % 25 === 0)) {
      expect(await etagOf('countries-v2', t), zxy(t)).not.toBe(await etagOf('countries', t));
    }
  });

  it('does the same for the plain schema, where the ETag is a hash of the bytes', async () => {
    const { same, changed } = compare('world_cities.mbtiles', 'cities-edited.mbtiles');
    expect(changed).toHaveLength(1);
    expect(await etagOf('cities-edited', changed[0]!)).not.toBe(await etagOf('world_cities', changed[0]!));
    for (const t of same.slice(0, 20)) expect(await etagOf('cities-edited', t)).toBe(await etagOf('world_cities', t));
  });

  it('gives the gunzipped representation its own ETag, and 304 only within a representation', async () => {
    const target = tileUrl('countries', '1/1/0');
    const gz = await getGzip(target);
    const plain = await rawRequest(target);
    expect(header(plain, 'etag')).not.toBe(header(gz, 'etag'));
    expect(plain.body.equals(gunzipSync(gz.body))).toBe(true);
    expect((await revalidate(target, gz)).status).toBe(200); // gzip tag, but the client takes no gzip
    expect((await revalidate(target, plain)).status).toBe(304);
  });

  it('gives identical tiles of a rebuilt file the same ETags', async () => {
    for (const zxyPath of ['0/0/0', '3/4/2', '5/17/11']) {
      expect(header(await getGzip(tileUrl('countries-rebuilt', zxyPath)), 'etag')).toBe(
        header(await getGzip(tileUrl('countries', zxyPath)), 'etag'),
      );
    }
  });
});

describe('/api/tile-version', () => {
  it('lists every served version and a combined digest of the sorted id=version pairs', async () => {
    const doc = json<{ version: string; tilesets: Record<string, string> }>(await rawRequest(url('/api/tile-version')));
    const catalog = json<{ id: string; version: string }[]>(await rawRequest(url('/catalog.json')));
    expect(doc.tilesets).toEqual(Object.fromEntries(catalog.map((e) => [e.id, e.version])));
    const lines = Object.keys(doc.tilesets)
      .sort()
      .map((id) => `${id}=${doc.tilesets[id]}\n`)
      .join('');
    expect(doc.version).toBe(createHash('sha256').update(lines).digest('hex').slice(0, 16));
  });
});

describe('compression', () => {
  it('compresses JSON for clients that accept it, and not for others', async () => {
    const gz = await rawRequest(url('/tiles/countries.json'), { headers: { 'Accept-Encoding': 'gzip' } });
    expect(header(gz, 'content-encoding')).toBe('gzip');
    const plain = await rawRequest(url('/tiles/countries.json'));
    expect(header(plain, 'content-encoding')).toBeUndefined();
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
  });

  it('compresses JSON with brotli for clients that take only br', async () => {
    const plain = await rawRequest(url('/tiles/countries.json'));
    const br = await rawRequest(url('/tiles/countries.json'), { headers: { 'Accept-Encoding': 'br' } });
    expect(br.status).toBe(200);
    expect(header(br, 'content-encoding')).toBe('br');
    expect(header(br, 'vary')).toMatch(/accept-encoding/i);
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
  });

  it('never recompresses a tile, even one stored uncompressed', async () => {
    const res = await rawRequest(tileUrl('countries', '0/0/0'), { headers: { 'Accept-Encoding': 'br, gzip' } });
    expect(header(res, 'content-encoding')).toBe('gzip');
    expect(res.body.equals(readStoredTiles(join(dir, 'countries.mbtiles')).find((t) => t.z === 0)!.data)).toBe(true);
  });
});
