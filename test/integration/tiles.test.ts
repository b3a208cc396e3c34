import { execFileSync } from 'node:child_process';
import { deflateSync, gunzipSync, inflateSync } from 'node:zlib';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyFixture,
  gdalRaster,
  gdalVector,
  rawCityTiles,
  readStoredTiles,
  removeDir,
  type StoredTile,
  tempDir,
  writeDeduplicated,
} from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CONTENT_TYPES = {
  pbf: 'application/vnd.mapbox-vector-tile',
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
} as const;

/** The tilesets of this suite: id → file path, format and URL extension. */
interface Case {
  id: string;
  path: string;
  format: keyof typeof CONTENT_TYPES;
  ext: string;
  /** The Content-Encoding its tiles go out with to a browser. */
  encoding: 'gzip' | 'deflate' | undefined;
}

let dir: string;
let server: TestServer;
const cases: Case[] = [];

beforeAll(async () => {
  dir = tempDir();
  const add = (id: string, path: string, format: Case['format'], ext: string, encoding: Case['encoding']) =>
    cases.push({ id, path, format, ext, encoding });
  add('world_cities', copyFixture('world_cities.mbtiles', dir), 'pbf', 'pbf', 'gzip');
  add('countries', copyFixture('countries.mbtiles', dir), 'pbf', 'mvt', 'gzip');
  add('sub/countries-v2', copyFixture('countries-v2.mbtiles', dir, 'sub/countries-v2.mbtiles'), 'pbf', 'pbf', 'gzip');
  add('gdal-vector', gdalVector(dir, 'gdal-vector.mbtiles'), 'pbf', 'pbf', 'gzip');
  add('gdal-png', gdalRaster(dir, 'gdal-png.mbtiles', 'PNG'), 'png', 'png', undefined);
  add('gdal-jpeg', gdalRaster(dir, 'gdal-jpeg.mbtiles', 'JPEG'), 'jpg', 'jpg', undefined);
  add('gdal-webp', gdalRaster(dir, 'gdal-webp.mbtiles', 'WEBP'), 'webp', 'webp', undefined);
  const rawPath = `${dir}/raw-mvt.mbtiles`;
  writeDeduplicated(rawPath, { name: 'Raw MVT', format: 'pbf', minzoom: 0, maxzoom: 2 }, rawCityTiles(2));
  add('raw-mvt', rawPath, 'pbf', 'pbf', undefined);
  // zlib streams, as node-mbtiles and tilelive stored vector tiles before gzip was the rule.
  const zlibPath = `${dir}/zlib-mvt.mbtiles`;
  const zlibTiles = rawCityTiles(2).map((t) => ({ ...t, data: deflateSync(t.data) }));
  writeDeduplicated(zlibPath, { name: 'zlib MVT', format: 'pbf', minzoom: 0, maxzoom: 2 }, zlibTiles);
  add('zlib-mvt', zlibPath, 'pbf', 'pbf', 'deflate');
  // A raster with holes: zooms 1-2 in metadata, all of zoom 1 but one tile of zoom 2.
  const pngTiles = readStoredTiles(cases.find((c) => c.id === 'gdal-png')!.path).filter((t) => t.z === 1);
  const sparsePath = `${dir}/sparse-png.mbtiles`;
  writeDeduplicated(sparsePath, { name: 'Sparse', format: 'png', minzoom: 1, maxzoom: 2 }, [
    ...pngTiles.map((t) => ({ z: 1, x: t.x, y: 1 - t.y, data: t.data })),
    { z: 2, x: 1, y: 1, data: pngTiles[0]!.data },
  ]);
  add('sparse-png', sparsePath, 'png', 'png', undefined);
  server = await startTestServer(dir);
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

/** Stored tiles that lie on the XYZ grid, with their URL y. */
function onGridTiles(path: string): (StoredTile & { yXyz: number })[] {
  return readStoredTiles(path)
    .filter((t) => t.x >= 0 && t.y >= 0 && t.x < 2 ** t.z && t.y < 2 ** t.z)
    .map((t) => ({ ...t, yXyz: 2 ** t.z - 1 - t.y }));
}

async function versionOf(id: string): Promise<string> {
  const tileJson = json<{ tiles: string[] }>(await rawRequest(`${server.url}/tiles/${id}.json`));
  return new URL(tileJson.tiles[0] as string).searchParams.get('v') as string;
}

describe('every tile, byte for byte', () => {
  it('loads every tileset of the suite', () => {
    const states = Object.fromEntries(server.registry.list().map((e) => [e.id, e.state]));
    expect(states).toEqual(Object.fromEntries(cases.map((c) => [c.id, 'ok'])));
  });

  it.each([
    'world_cities',
    'countries',
    'sub/countries-v2',
    'gdal-vector',
    'gdal-png',
    'gdal-jpeg',
    'gdal-webp',
    'raw-mvt',
    'zlib-mvt',
    'sparse-png',
  ])('%s: each stored tile is served at its XYZ URL with the stored bytes and its type', async (id) => {
    const c = cases.find((k) => k.id === id) as Case;
    const tiles = onGridTiles(c.path);
    expect(tiles.length).toBeGreaterThan(0);
    for (const t of tiles) {
      const res = await getGzip(`${server.url}/tiles/${c.id}/${t.z}/${t.x}/${t.yXyz}.${c.ext}`);
      expect(res.status, `${c.id} ${t.z}/${t.x}/${t.yXyz}`).toBe(200);
      expect(res.body.equals(t.data), `${c.id} ${t.z}/${t.x}/${t.yXyz} bytes`).toBe(true);
      expect(header(res, 'content-type')).toBe(CONTENT_TYPES[c.format]);
      expect(header(res, 'content-encoding')).toBe(c.encoding);
    }
  });

  it('puts each city in the tile where GDAL, an independent MBTiles reader, places it', async () => {
    // GDAL reads the file's zoom 1 in Web Mercator, doing its own TMS flip; the quadrant of each
    // city's coordinates names the XYZ tile it must be served in.
    const geojson = execFileSync('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', cases[0]!.path, '-oo', 'ZOOM_LEVEL=1', 'cities']);
    const features = (
      JSON.parse(geojson.toString()) as { features: { properties: { name: string }; geometry: { coordinates: number[][] } }[] }
    ).features;
    expect(features.length).toBeGreaterThan(20);
    for (const [x, y] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const) {
      const inTile = (mx: number, my: number) => mx >= 0 === (x === 1) && my >= 0 === (y === 0);
      const coordinates = (f: (typeof features)[number]) => f.geometry.coordinates[0] as [number, number];
      const expected = features.filter((f) => inTile(...coordinates(f))).map((f) => f.properties.name);
      // Tiles carry a buffer beyond their edges: only cities far (> 2,000 km) from the tile are
      // certainly not in it, such as those of the other hemisphere under a flipped y.
      const far = features
        .filter((f) => {
          const [mx, my] = coordinates(f);
          return mx >= 0 === (x === 1) && !inTile(mx, my) && Math.abs(my) > 2_000_000;
        })
        .map((f) => f.properties.name);
      const res = await getGzip(`${server.url}/tiles/world_cities/1/${x}/${y}.pbf`);
      const layer = new VectorTile(new PbfReader(gunzipSync(res.body))).layers.cities;
      const served = Array.from({ length: layer?.length ?? 0 }, (_, i) => String(layer!.feature(i).properties.name));
      expect(expected.length + far.length, `1/${x}/${y}`).toBeGreaterThan(0);
      expect(served, `1/${x}/${y}`).toEqual(expect.arrayContaining(expected));
      expect(
        served.filter((name) => far.includes(name)),
        `1/${x}/${y}`,
      ).toEqual([]);
    }
  });

  it('flips y: the northernmost row of zoom 1 is URL y=0 and TMS row 1', async () => {
    const stored = readStoredTiles(cases[0]!.path).find((t) => t.z === 1 && t.x === 0 && t.y === 1);
    expect(stored).toBeDefined();
    const res = await getGzip(`${server.url}/tiles/world_cities/1/0/0.pbf`);
    expect(res.body.equals(stored!.data)).toBe(true);
  });
});

describe('content encoding', () => {
  const url = () => `${server.url}/tiles/countries/0/0/0.pbf`;
  const stored = () => onGridTiles(cases[1]!.path).find((t) => t.z === 0)!.data;

  it('passes gzipped vector tiles through to clients that accept gzip, with Vary', async () => {
    const res = await getGzip(url());
    expect(header(res, 'content-encoding')).toBe('gzip');
    expect(header(res, 'vary')).toMatch(/accept-encoding/i);
    expect(res.body.equals(stored())).toBe(true);
  });

  it.each([
    ['no Accept-Encoding', {}],
    ['identity only', { 'Accept-Encoding': 'identity' }],
    ['gzip refused with q=0', { 'Accept-Encoding': 'gzip;q=0, identity' }],
    ['only br', { 'Accept-Encoding': 'br' }],
  ])('gunzips for a client with %s', async (_, headers) => {
    const res = await rawRequest(url(), { headers });
    expect(res.status).toBe(200);
    expect(header(res, 'content-encoding')).toBeUndefined();
    expect(header(res, 'vary')).toMatch(/accept-encoding/i);
    expect(res.body.equals(gunzipSync(stored()))).toBe(true);
    expect(Number(header(res, 'content-length'))).toBe(res.body.length);
  });

  it('serves uncompressed MVT as stored, without Content-Encoding', async () => {
    const t = onGridTiles(cases.find((c) => c.id === 'raw-mvt')!.path)[0]!;
    const res = await getGzip(`${server.url}/tiles/raw-mvt/${t.z}/${t.x}/${t.yXyz}.pbf`);
    expect(header(res, 'content-encoding')).toBeUndefined();
    expect(res.body.equals(t.data)).toBe(true);
    expect(res.body[0]).toBe(0x1a);
  });

  it.each([
    ['a browser (gzip, deflate, br)', { 'Accept-Encoding': 'gzip, deflate, br' }, 'deflate'],
    ['deflate only', { 'Accept-Encoding': 'deflate' }, 'deflate'],
    ['gzip only', { 'Accept-Encoding': 'gzip' }, undefined],
    ['no Accept-Encoding', {}, undefined],
  ])('passes zlib-stored tiles to %s as Content-Encoding: deflate, else inflates them', async (_, headers, encoding) => {
    const t = onGridTiles(cases.find((c) => c.id === 'zlib-mvt')!.path).find((k) => k.z === 1)!;
    const res = await rawRequest(`${server.url}/tiles/zlib-mvt/${t.z}/${t.x}/${t.yXyz}.pbf`, { headers });
    expect(res.status).toBe(200);
    expect(header(res, 'content-encoding')).toBe(encoding);
    expect(header(res, 'vary')).toMatch(/accept-encoding/i);
    const mvt = encoding === undefined ? res.body : inflateSync(res.body);
    expect(mvt.equals(inflateSync(t.data))).toBe(true);
    expect(new VectorTile(new PbfReader(mvt)).layers).toHaveProperty('cities');
    expect(header(res, 'etag')?.endsWith('-decoded"')).toBe(encoding === undefined);
    // Its metadata lists no layers: they were found by inflating and decoding tiles.
    const tj = json<{ vector_layers: { id: string }[] }>(await rawRequest(`${server.url}/tiles/zlib-mvt.json`));
    expect(tj.vector_layers.map((l) => l.id)).toEqual(['cities']);
  });

  it('never puts a Content-Encoding on raster tiles', async () => {
    for (const id of ['gdal-png', 'gdal-jpeg', 'gdal-webp']) {
      const c = cases.find((k) => k.id === id)!;
      const res = await getGzip(`${server.url}/tiles/${id}/0/0/0.${c.ext}`);
      expect(res.status).toBe(200);
      expect(header(res, 'content-encoding')).toBeUndefined();
    }
  });
});

describe('status codes', () => {
  it('answers 204 for a missing vector tile inside the zoom range, with an empty body', async () => {
    // world_cities has no tile at z6 over the middle of the Pacific.
    const res = await getGzip(`${server.url}/tiles/world_cities/6/0/32.pbf`);
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
  });

  it('answers 404 for a missing raster tile inside the zoom range, cached like a tile', async () => {
    const v = await versionOf('sparse-png');
    const res = await rawRequest(`${server.url}/tiles/sparse-png/2/0/0.png?v=${v}`);
    expect(res.status).toBe(404);
    expect(header(res, 'cache-control')).toBe('public, max-age=31536000, immutable');
    const present = await rawRequest(`${server.url}/tiles/sparse-png/2/1/1.png?v=${v}`);
    expect(present.status).toBe(200);
    expect(header(present, 'content-type')).toBe('image/png');
  });

  it.each([
    ['zoom below the range', '/tiles/sparse-png/0/0/0.png', 404],
    ['zoom above the range', '/tiles/sparse-png/3/0/0.png', 404],
    ['zoom above the range', '/tiles/world_cities/7/0/0.pbf', 404],
    ['x off the grid', '/tiles/world_cities/1/2/0.pbf', 404],
    ['y off the grid', '/tiles/world_cities/1/0/2.pbf', 404],
    ['negative x', '/tiles/world_cities/1/-1/0.pbf', 400],
    ['fractional y', '/tiles/world_cities/1/0/0.5.pbf', 400],
    ['huge x', '/tiles/world_cities/1/99999999999999999999/0.pbf', 400],
    ['huge zoom', '/tiles/world_cities/99/0/0.pbf', 400],
    ['non-digit zoom', '/tiles/world_cities/a/0/0.pbf', 400],
    ['leading zero', '/tiles/world_cities/1/00/0.pbf', 400],
    ['exponent', '/tiles/world_cities/1/1e0/0.pbf', 400],
    ['png on a vector tileset', '/tiles/world_cities/0/0/0.png', 400],
    ['pbf on a raster tileset', '/tiles/gdal-png/0/0/0.pbf', 400],
    ['jpg on a png tileset', '/tiles/gdal-png/0/0/0.jpg', 400],
    ['no extension', '/tiles/world_cities/0/0/0', 400],
    ['no extension, unknown id', '/tiles/nope/0/0/0', 404],
    ['upper-case route', '/TILES/world_cities/0/0/0.pbf', 404],
    ['trailing slash on the catalog', '/catalog.json/', 404],
    ['trailing slash on health', '/health/', 404],
    ['unknown id', '/tiles/nope/0/0/0.pbf', 404],
    ['unknown TileJSON', '/tiles/nope.json', 404],
    ['dot-dot id', '/tiles/../world_cities/0/0/0.pbf', 404],
    ['encoded dot-dot', '/tiles/%2e%2e/world_cities/0/0/0.pbf', 404],
    ['encoded slash in id', '/tiles/sub%2Fcountries-v2.json', 404],
    ['id with a path outside', '/tiles/..%2F..%2Fetc%2Fpasswd.json', 404],
    ['three-level id', '/tiles/a/b/c/0/0/0.pbf', 404],
    ['mvt on a vector tileset', '/tiles/countries/0/0/0.mvt', 200],
    ['jpeg alias on a jpg tileset', '/tiles/gdal-jpeg/0/0/0.jpeg', 200],
  ])('%s → %i', async (_, path, status) => {
    const res = await rawRequest(`${server.url}${path}`);
    expect(res.status).toBe(status);
    if (status >= 400) {
      expect(header(res, 'cache-control')).toBe('no-store');
      expect(json<{ error: string }>(res).error).toEqual(expect.any(String));
    }
  });

  it('answers HEAD like GET, without a body', async () => {
    const get = await getGzip(`${server.url}/tiles/countries/1/0/0.pbf`);
    const head = await rawRequest(`${server.url}/tiles/countries/1/0/0.pbf`, {
      method: 'HEAD',
      headers: { 'Accept-Encoding': 'gzip' },
    });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const name of ['content-type', 'content-encoding', 'content-length', 'cache-control', 'vary']) {
      expect(header(head, name), name).toBe(header(get, name));
    }
  });

  it('never answers 5xx to odd requests', async () => {
    const paths = [
      '/tiles/',
      '/tiles//0/0/0.pbf',
      '/tiles/world_cities//0/0.pbf',
      '/tiles/world_cities/0/0/0.',
      '/tiles/world_cities/0/0/.pbf',
      '/tiles/world_cities.json/0/0/0.pbf',
      '/tiles/%ff%fe.json',
      '/tiles/world_cities/0/0/0.pbf?v=%ff',
      '/tiles/world_cities/0/0/0.pbf?v=a&v=b',
      `/tiles/${'a'.repeat(5000)}.json`,
      '/tiles/world_cities/0/0/0.pbf%00',
      '/%',
      '/catalog.json/..',
    ];
    for (const path of paths) {
      const res = await rawRequest(`${server.url}${path}`);
      expect(res.status, path).toBeLessThan(500);
    }
    const post = await rawRequest(`${server.url}/tiles/world_cities/0/0/0.pbf`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

describe('cache headers', () => {
  it.each([
    ['the current v', (v: string) => `?v=${v}`, 'public, max-age=31536000, immutable'],
    ['no v', () => '', 'public, max-age=60'],
    ['a stale v', () => '?v=0000000000000000', 'no-cache'],
    ['a prefix of the current v', (v: string) => `?v=${v.slice(0, 8)}`, 'no-cache'],
    ['the current v in upper case', (v: string) => `?v=${v.toUpperCase()}`, 'no-cache'],
    ['garbage', () => '?v=<script>', 'no-cache'],
    ['an empty v', () => '?v=', 'no-cache'],
    ['v given twice', (v: string) => `?v=${v}&v=${v}`, 'no-cache'],
  ])('a tile with %s gets %s', async (_, query, expected) => {
    const v = await versionOf('countries');
    const res = await getGzip(`${server.url}/tiles/countries/0/0/0.pbf${query(v)}`);
    expect(res.status).toBe(200);
    expect(header(res, 'cache-control')).toBe(expected);
  });

  it('gives a missing tile the tile policy: immutable with the current v, max-age without', async () => {
    const v = await versionOf('world_cities');
    const current = await getGzip(`${server.url}/tiles/world_cities/6/0/32.pbf?v=${v}`);
    expect(current.status).toBe(204);
    expect(header(current, 'cache-control')).toBe('public, max-age=31536000, immutable');
    const stale = await getGzip(`${server.url}/tiles/world_cities/6/0/32.pbf?v=old`);
    expect(header(stale, 'cache-control')).toBe('no-cache');
  });

  it.each(['/tiles/countries.json', '/catalog.json', '/'])('%s is no-cache, must-revalidate', async (path) => {
    const res = await rawRequest(`${server.url}${path}`);
    expect(res.status).toBe(200);
    expect(header(res, 'cache-control')).toBe('no-cache, must-revalidate');
  });

  it('honours --max-age for tiles without v', async () => {
    const other = await startTestServer(dir, { maxAge: 5 });
    try {
      const res = await getGzip(`${other.url}/tiles/countries/0/0/0.pbf`);
      expect(header(res, 'cache-control')).toBe('public, max-age=5');
    } finally {
      await other.close();
    }
  });

  it('puts Access-Control-Allow-Origin: * on tiles, metadata and errors', async () => {
    for (const path of ['/tiles/countries/0/0/0.pbf', '/tiles/countries.json', '/catalog.json', '/tiles/nope.json']) {
      expect(header(await rawRequest(`${server.url}${path}`), 'access-control-allow-origin'), path).toBe('*');
    }
  });
});

describe('TileJSON, catalog and index', () => {
  it('publishes TileJSON 3.0.0 with an absolute, versioned tile URL that serves immutable tiles', async () => {
    const tj = json<Record<string, unknown>>(await rawRequest(`${server.url}/tiles/countries.json`));
    expect(tj.tilejson).toBe('3.0.0');
    expect(tj.name).toBe('Countries (Natural Earth 110m)');
    expect(tj.minzoom).toBe(0);
    expect(tj.maxzoom).toBe(5);
    expect(tj.bounds).toEqual([-180, -85.051129, 180, 83.64513]);
    expect(tj.center).toEqual([16.875, 44.951199, 5]);
    expect(tj.scheme).toBe('xyz');
    const [template] = tj.tiles as string[];
    expect(template).toMatch(new RegExp(`^${server.url}/tiles/countries/\\{z\\}/\\{x\\}/\\{y\\}\\.pbf\\?v=[0-9a-f]{16}$`));
    expect((tj.vector_layers as { id: string }[]).map((l) => l.id)).toEqual(['countries']);
    const url = template!.replace('{z}', '1').replace('{x}', '1').replace('{y}', '0');
    const res = await getGzip(url);
    expect(res.status).toBe(200);
    expect(header(res, 'cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('publishes TileJSON for a raster tileset without vector_layers, for a subfolder id with its path', async () => {
    const raster = json<Record<string, unknown>>(await rawRequest(`${server.url}/tiles/gdal-jpeg.json`));
    expect(raster.vector_layers).toBeUndefined();
    expect((raster.tiles as string[])[0]).toMatch(/\/tiles\/gdal-jpeg\/\{z\}\/\{x\}\/\{y\}\.jpg\?v=[0-9a-f]{16}$/);
    const sub = json<Record<string, unknown>>(await rawRequest(`${server.url}/tiles/sub/countries-v2.json`));
    expect((sub.tiles as string[])[0]).toContain('/tiles/sub/countries-v2/{z}/{x}/{y}.pbf?v=');
  });

  it('builds URLs from --public-url when given', async () => {
    const other = await startTestServer(dir, { publicUrl: 'https://tiles.example.org/base' });
    try {
      const tj = json<{ tiles: string[] }>(await rawRequest(`${other.url}/tiles/countries.json`));
      expect(tj.tiles[0]).toMatch(/^https:\/\/tiles\.example\.org\/base\/tiles\/countries\/\{z\}/);
    } finally {
      await other.close();
    }
  });

  it('ignores X-Forwarded-* unless --trust-proxy, and honours them with it', async () => {
    const headers = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'cdn.example.org', 'X-Forwarded-Prefix': '/maps' };
    const plain = json<{ tiles: string[] }>(await rawRequest(`${server.url}/tiles/countries.json`, { headers }));
    expect(plain.tiles[0]!.startsWith(`${server.url}/tiles/`)).toBe(true);
    const proxied = await startTestServer(dir, { trustProxy: true });
    try {
      const tj = json<{ tiles: string[] }>(await rawRequest(`${proxied.url}/tiles/countries.json`, { headers }));
      expect(tj.tiles[0]!.startsWith('https://cdn.example.org/maps/tiles/countries/')).toBe(true);
    } finally {
      await proxied.close();
    }
  });

  it('refuses a forged Host header instead of publishing it', async () => {
    const res = await rawRequest(`${server.url}/tiles/countries.json`, { headers: { Host: 'evil.example/x?' } });
    expect(res.status).toBe(400);
  });

  it('lists every tileset in the catalog with the version its TileJSON carries', async () => {
    const catalog = json<{ id: string; format: string; version: string; tilejson: string }[]>(
      await rawRequest(`${server.url}/catalog.json`),
    );
    expect(catalog.map((e) => e.id).sort()).toEqual(cases.map((c) => c.id).sort());
    for (const entry of catalog) {
      expect(entry.version).toBe(await versionOf(entry.id));
      expect(entry.tilejson).toBe(`${server.url}/tiles/${entry.id}.json`);
      expect(entry.format).toBe(cases.find((c) => c.id === entry.id)!.format);
    }
  });

  it('links every tileset from the HTML index', async () => {
    const res = await rawRequest(`${server.url}/`);
    expect(header(res, 'content-type')).toMatch(/^text\/html/);
    const html = res.body.toString();
    for (const c of cases) {
      expect(html).toContain(`href="${server.url}/tiles/${c.id}.json"`);
      expect(html).toContain(await versionOf(c.id));
    }
  });

  it('reports every tileset ok in /health and is ready', async () => {
    const health = json<{ status: string; tilesets: Record<string, { state: string; version: string }> }>(
      await rawRequest(`${server.url}/health`),
    );
    expect(health.status).toBe('ok');
    for (const c of cases) expect(health.tilesets[c.id]).toMatchObject({ state: 'ok', version: await versionOf(c.id) });
    const ready = await rawRequest(`${server.url}/ready`);
    expect(ready.status).toBe(200);
  });
});

describe('old and odd clients', () => {
  it('answers an HTTP/1.0 request without Host with URLs on the address it came in on', async () => {
    const { Socket } = await import('node:net');
    const port = Number(new URL(server.url).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = new Socket();
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.connect(port, '127.0.0.1', () => socket.write('GET /tiles/countries.json HTTP/1.0\r\n\r\n'));
    });
    expect(raw.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(raw).toContain(`"tiles":["http://127.0.0.1:${port}/tiles/countries/{z}/{x}/{y}.pbf?v=`);
  });
});
