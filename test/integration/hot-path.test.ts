import { randomBytes } from 'node:crypto';
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, FIXTURES, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, type RawResponse, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Headers that legitimately differ between two answers of the same thing. */
const PER_ANSWER = new Set(['date', 'connection', 'keep-alive']);

function comparable(res: RawResponse) {
  const headers = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !PER_ANSWER.has(name)));
  return { status: res.status, headers, body: res.body.toString('base64') };
}

/** A metric's value from the Prometheus text, 0 when absent. */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

/** A plain-schema vector file of `count` incompressible tiles of `bytes` each (gzip magic first). */
function bigTiles(path: string, count: number, bytes: number): void {
  const db = new Database(path);
  db.exec(`CREATE TABLE metadata (name text, value text);
    CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
    CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
    INSERT INTO metadata VALUES ('name', 'big'), ('format', 'pbf'), ('minzoom', '4'), ('maxzoom', '4');`);
  const insert = db.prepare('INSERT INTO tiles VALUES (4, ?, ?, ?)');
  for (let i = 0; i < count; i++)
    insert.run(i % 16, Math.floor(i / 16), Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(bytes - 2)]));
  db.close();
}

describe('the hot path answers exactly as the general path', () => {
  let dir: string;
  let servers: TestServer[];
  beforeAll(async () => {
    dir = tempDir();
    copyFixture('world_cities.mbtiles', dir); // plain schema: ETags hashed from the bytes
    copyFixture('countries.mbtiles', dir); // tippecanoe's deduplicated schema
    servers = [await startTestServer(dir), await startTestServer(dir, { corsOrigin: 'https://app.example', cacheBytes: 0 })];
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    removeDir(dir);
  });

  // `?v=…` alone takes the hot path; an extra parameter sends the same request the general way.
  it.each([
    ['gzip, deflate, br', {}],
    ['gzip', { 'If-None-Match': 'take-from-first' }],
    ['gzip', { 'If-None-Match': 'take-from-first', 'If-Modified-Since': 'Thu, 01 Jan 2026 00:00:00 GMT' }],
    ['br', {}],
    ['gzip;q=1, identity;q=0.5', {}],
    ['identity', {}],
    ['', {}],
  ])(
    'Accept-Encoding %j %j: same status, headers and bytes, both ways, for every tile and a hole',
    async (acceptEncoding, extra) => {
      for (const server of servers) {
        const catalog = json<{ id: string; version: string }[]>(await rawRequest(`${server.url}/catalog.json`));
        for (const { id, version } of catalog) {
          const stored = readStoredTiles(join(dir, `${id}.mbtiles`)).slice(0, 12);
          const paths = [...stored.map((t) => `${t.z}/${t.x}/${2 ** t.z - 1 - t.y}`), '5/31/31', '0/0/0'];
          for (const path of paths) {
            const stored = await rawRequest(`${server.url}/tiles/${id}/${path}.pbf`, { headers: { 'Accept-Encoding': 'gzip' } });
            const h = String(stored.headers.etag ?? 'none').replaceAll('"', '');
            for (const [query, general] of [
              [`?v=${version}`, `?v=${version}&x=1`],
              ['', '?x=1'],
              ['?v=stale', '?v=stale&x=1'],
              [`?h=${h}`, `?h=${h}&x=1`],
              ['?h=0123456789abcdef', '?h=0123456789abcdef&x=1'],
            ] as const) {
              for (const method of ['GET', 'HEAD']) {
                const headers: Record<string, string> = acceptEncoding === '' ? {} : { 'Accept-Encoding': acceptEncoding };
                const url = `${server.url}/tiles/${id}/${path}.pbf`;
                const first = await rawRequest(`${url}${query}`, { method, headers });
                if ('If-None-Match' in extra && first.headers.etag) headers['If-None-Match'] = String(first.headers.etag);
                if ('If-Modified-Since' in extra) headers['If-Modified-Since'] = String(extra['If-Modified-Since']);
                const fast = await rawRequest(`${url}${query}`, { method, headers });
                const slow = await rawRequest(`${url}${general}`, { method, headers });
                expect(comparable(fast), `${method} ${url}${query}`).toEqual(comparable(slow));
              }
            }
          }
        }
      }
    },
  );
});

describe('the hot-tile cache', () => {
  it('serves every tile of a file renamed over a warm cache with the new bytes only, under the new version', async () => {
    const dir = tempDir();
    const target = copyFixture('countries.mbtiles', dir);
    const server = await startTestServer(dir, { watch: true, settleMs: 100 });
    try {
      const before = json<{ version: string }[]>(await rawRequest(`${server.url}/catalog.json`))[0]!.version;
      const urls = (file: string) =>
        readStoredTiles(join(FIXTURES, file)).map((t) => ({
          url: `${server.url}/tiles/countries/${t.z}/${t.x}/${2 ** t.z - 1 - t.y}.pbf`,
          data: t.data,
        }));
      // Three rounds: a tile is kept from its second request on (the first is read and forgotten).
      for (let round = 0; round < 3; round++) {
        for (const { url } of urls('countries.mbtiles')) await rawRequest(url, { headers: { 'Accept-Encoding': 'gzip' } });
      }
      const warm = await (await server.get('/metrics')).text();
      expect(metric(warm, 'tilestamp_tile_cache_hits_total')).toBeGreaterThan(0);
      const staged = join(dir, '.next.tmp');
      copyFileSync(join(FIXTURES, 'countries-v2.mbtiles'), staged);
      renameSync(staged, target);
      await server.rescan('test');
      const after = json<{ version: string }[]>(await rawRequest(`${server.url}/catalog.json`))[0]!.version;
      expect(after).not.toBe(before);
      for (const { url, data } of urls('countries-v2.mbtiles')) {
        const res = await rawRequest(url, { headers: { 'Accept-Encoding': 'gzip' } });
        expect(header(res, 'x-tilestamp-version')).toBe(after);
        expect(res.body.equals(data), url).toBe(true);
      }
    } finally {
      await server.close();
      removeDir(dir);
    }
  });

  it('holds no more than --cache-size, evicts, and still answers every tile right', async () => {
    const dir = tempDir();
    bigTiles(join(dir, 'big.mbtiles'), 128, 24 * 1024); // 3 MiB of tiles through a 1 MiB cache (tiles up to 32 KiB kept)
    const server = await startTestServer(dir, { cacheBytes: 1024 * 1024 });
    try {
      const stored = readStoredTiles(join(dir, 'big.mbtiles'));
      for (let round = 0; round < 2; round++) {
        for (const t of stored) {
          const res = await rawRequest(`${server.url}/tiles/big/4/${t.x}/${15 - t.y}.pbf`, {
            headers: { 'Accept-Encoding': 'gzip' },
          });
          expect(res.body.equals(t.data)).toBe(true);
        }
      }
      const text = await (await server.get('/metrics')).text();
      expect(metric(text, 'tilestamp_tile_cache_bytes')).toBeGreaterThan(0);
      expect(metric(text, 'tilestamp_tile_cache_bytes')).toBeLessThanOrEqual(1024 * 1024);
      expect(metric(text, 'tilestamp_tile_cache_limit_bytes')).toBe(1024 * 1024);
      expect(metric(text, 'tilestamp_tile_cache_evictions_total')).toBeGreaterThan(0);
      expect(metric(text, 'tilestamp_tile_cache_misses_total')).toBeGreaterThanOrEqual(64);
    } finally {
      await server.close();
      removeDir(dir);
    }
  });

  it('keeps a tile (here a hole) from its first request while the cache is less than half full, and is off with --cache-size 0', async () => {
    const dir = tempDir();
    copyFixture('world_cities.mbtiles', dir);
    const [on, off] = [await startTestServer(dir), await startTestServer(dir, { cacheBytes: 0 })];
    try {
      for (let i = 0; i < 4; i++) expect((await on.get('/tiles/world_cities/6/0/0.pbf')).status).toBe(204);
      const text = await (await on.get('/metrics')).text();
      expect(metric(text, 'tilestamp_tile_cache_hits_total')).toBe(3);
      expect(metric(text, 'tilestamp_tile_cache_misses_total')).toBe(1);
      expect((await off.get('/tiles/world_cities/0/0/0.pbf')).status).toBe(200);
      expect(await (await off.get('/metrics')).text()).not.toContain('tilestamp_tile_cache');
    } finally {
      await on.close();
      await off.close();
      removeDir(dir);
    }
  });

  it('counts tiles answered by the hot path in the request metrics and the latency histogram', async () => {
    const dir = tempDir();
    copyFixture('world_cities.mbtiles', dir);
    const server = await startTestServer(dir);
    try {
      for (let i = 0; i < 5; i++) await server.get('/tiles/world_cities/0/0/0.pbf');
      const text = await (await server.get('/metrics')).text();
      expect(text).toContain('tilestamp_http_requests_total{route="/tiles/*rest",status="200"} 5');
      expect(metric(text, 'tilestamp_tile_duration_seconds_count')).toBe(5);
    } finally {
      await server.close();
      removeDir(dir);
    }
  });
});
