import { copyFileSync, existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, FIXTURES, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, type RawResponse, rawRequest } from '../helpers/http.ts';
import {
  type CachingProxy,
  freePort,
  installLikeTheDocs,
  NGINX_CONF,
  startCachingProxy,
  testNginxConf,
} from '../helpers/nginx.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const GZIP = { 'Accept-Encoding': 'gzip' };

let dir: string;
let upstreamPort: number;
let upstream: TestServer;
let proxy: CachingProxy;

const cacheStatus = (res: RawResponse) => header(res, 'x-cache-status');
const viaProxy = (path: string) => rawRequest(`${proxy.url}${path}`, { headers: GZIP });

/** The stored bytes of a tile (XYZ) in a fixture. */
function storedTile(fixture: string, z: number, x: number, y: number): Buffer {
  const tile = readStoredTiles(join(FIXTURES, fixture)).find((t) => t.z === z && t.x === x && t.y === 2 ** z - 1 - y);
  if (!tile) throw new Error(`no tile ${z}/${x}/${y} in ${fixture}`);
  return tile.data;
}

async function tileTemplate(): Promise<{ template: string; version: string }> {
  const tj = json<{ tiles: string[] }>(await rawRequest(`${proxy.url}/tiles/countries.json`));
  const template = tj.tiles[0] as string;
  return { template, version: new URL(template.replace(/[{}]/g, '')).searchParams.get('v') as string };
}

const pathOf = (template: string, z: number, x: number, y: number) =>
  new URL(template.replace('{z}', String(z)).replace('{x}', String(x)).replace('{y}', String(y))).pathname +
  new URL(template.replace(/[{}]/g, '')).search;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  upstreamPort = await freePort();
  upstream = await startTestServer(dir, { port: upstreamPort });
  proxy = await startCachingProxy(upstreamPort);
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
  removeDir(dir);
});

describe('behind nginx proxy_cache', () => {
  let before: { template: string; version: string };

  it('publishes URLs of the proxy, so clients keep going through it', async () => {
    before = await tileTemplate();
    expect(before.template.startsWith(`${proxy.url}/tiles/countries/`)).toBe(true);
  });

  it('caches a versioned tile: MISS, then HITs with the same bytes', async () => {
    const path = pathOf(before.template, 1, 0, 0);
    const first = await viaProxy(path);
    expect(cacheStatus(first)).toBe('MISS');
    expect(header(first, 'cache-control')).toBe(IMMUTABLE);
    for (let i = 0; i < 3; i++) {
      const again = await viaProxy(path);
      expect(cacheStatus(again)).toBe('HIT');
      expect(again.body.equals(storedTile('countries.mbtiles', 1, 0, 0))).toBe(true);
    }
  });

  it('keeps a tile asked for without v for its max-age only (it is stored, as the table allows)', async () => {
    const first = await viaProxy('/tiles/countries/2/1/1.pbf');
    expect(header(first, 'cache-control')).toBe('public, max-age=60');
    expect(cacheStatus(first)).toBe('MISS');
    expect(cacheStatus(await viaProxy('/tiles/countries/2/1/1.pbf'))).toBe('HIT');
  });

  it('never stores a tile asked for with a version the server does not have', async () => {
    for (const v of ['ffffffffffffffff', before.version.slice(0, 8), 'garbage']) {
      for (let i = 0; i < 2; i++) {
        const res = await viaProxy(`/tiles/countries/1/1/0.pbf?v=${v}`);
        expect(res.status).toBe(200);
        expect(cacheStatus(res), `v=${v} try ${i}`).toBe('MISS');
        expect(header(res, 'cache-control')).toBe('no-cache');
      }
    }
  });

  it('sends TileJSON, catalog and /api/tile-version to the server every time', async () => {
    // nginx does not store no-cache answers at all (and, with proxy_cache on, answers
    // If-None-Match only from what it stored), so every request reaches the server: a refresh
    // shows in TileJSON at once. The server's own 304s are proven in caching.test.ts.
    for (const path of ['/tiles/countries.json', '/catalog.json', '/api/tile-version']) {
      for (let i = 0; i < 3; i++) {
        const res = await viaProxy(path);
        expect(res.status, path).toBe(200);
        expect(cacheStatus(res), path).not.toBe('HIT');
        expect(header(res, 'cache-control')).toBe('no-cache, must-revalidate');
      }
    }
  });

  it('after the file is replaced: new URLs MISS then HIT with new bytes; old URLs never get new bytes as immutable', async () => {
    // Prime one more old-version tile, and leave another old-version tile never requested.
    const oldCached = pathOf(before.template, 2, 2, 1);
    expect(cacheStatus(await viaProxy(oldCached))).toBe('MISS');
    const oldUncached = pathOf(before.template, 3, 4, 2);

    // A data refresh: the new file is written beside the old one and renamed over it; the
    // server is restarted on the same port (hot reload is another issue).
    await upstream.close();
    copyFileSync(join(FIXTURES, 'countries-v2.mbtiles'), join(dir, '.countries.mbtiles.tmp'));
    renameSync(join(dir, '.countries.mbtiles.tmp'), join(dir, 'countries.mbtiles'));
    upstream = await startTestServer(dir, { port: upstreamPort });

    const after = await tileTemplate();
    expect(after.version).not.toBe(before.version);
    const fresh = pathOf(after.template, 2, 2, 1);
    const miss = await viaProxy(fresh);
    expect(cacheStatus(miss)).toBe('MISS');
    expect(miss.body.equals(storedTile('countries-v2.mbtiles', 2, 2, 1))).toBe(true);
    expect(miss.body.equals(storedTile('countries.mbtiles', 2, 2, 1))).toBe(false);
    const hit = await viaProxy(fresh);
    expect(cacheStatus(hit)).toBe('HIT');
    expect(hit.body.equals(miss.body)).toBe(true);

    // The old URL still holds the old bytes: right for the old version, which is what it names.
    const old = await viaProxy(oldCached);
    expect(cacheStatus(old)).toBe('HIT');
    expect(old.body.equals(storedTile('countries.mbtiles', 2, 2, 1))).toBe(true);

    // An old URL nobody asked before: the server has only new bytes, so they come marked no-cache
    // and the proxy does not keep them under the old version's URL.
    for (let i = 0; i < 2; i++) {
      const res = await viaProxy(oldUncached);
      expect(cacheStatus(res)).toBe('MISS');
      expect(header(res, 'cache-control')).toBe('no-cache');
      expect(res.body.equals(storedTile('countries-v2.mbtiles', 3, 4, 2))).toBe(true);
    }
  });
});

describe('deploy/nginx/tilestamp.conf on a stock Debian nginx, installed as its header says', () => {
  it('names a cache folder nginx can create there (it makes the last level only)', () => {
    const path = /^proxy_cache_path (\S+) /m.exec(readFileSync(NGINX_CONF, 'utf8'))?.[1] as string;
    expect(path).toMatch(/^\/var\/cache\//);
    expect(existsSync(dirname(path)), `${dirname(path)} exists`).toBe(true);
  });

  it("with Debian's default site left enabled, nginx -t fails loudly rather than letting that site answer", async () => {
    const prefix = tempDir('tilestamp-nginx-');
    const port = await freePort();
    const debianDefault = readFileSync('/etc/nginx/sites-available/default', 'utf8')
      .replace(/^\s*listen \[::\]:80 default_server;$/m, '')
      .replace(/^(\s*)listen 80 default_server;$/m, `$1listen 127.0.0.1:${port} default_server;`);
    expect(debianDefault).toContain(`listen 127.0.0.1:${port} default_server;`);
    const conf = installLikeTheDocs(prefix, `127.0.0.1:${port}`, [`127.0.0.1:${upstreamPort}`], [debianDefault]);
    const checked = testNginxConf(prefix, conf);
    removeDir(prefix);
    expect(checked.ok).toBe(false);
    expect(checked.output).toMatch(/a duplicate default server for 127\.0\.0\.1:\d+/);
  });
});
