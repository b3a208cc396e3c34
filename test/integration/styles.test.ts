import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, gdalRaster, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, type RawResponse, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Style = {
  sources: Record<string, { type: string; tiles?: string[]; url?: string; tileSize?: number; maxzoom?: number }>;
  layers: { id: string; type: string; source?: string; 'source-layer'?: string }[];
  glyphs?: string;
};
type TileJson = { tiles: string[]; vector_layers?: { id: string }[] };

let dir: string;
let server: TestServer;

const get = (path: string, headers: Record<string, string> = {}) => rawRequest(`${server.url}${path}`, { headers });
const tileJson = async (id: string) => json<TileJson>(await get(`/tiles/${id}.json`));

function expectDiscoveryHeaders(res: RawResponse): void {
  expect(res.status).toBe(200);
  expect(header(res, 'content-type')).toBe('application/json; charset=utf-8');
  expect(header(res, 'cache-control')).toBe('no-cache, must-revalidate');
  expect(header(res, 'etag')).toMatch(/^W\/".+"$/);
  expect(header(res, 'access-control-allow-origin')).toBe('*');
}

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  copyFixture('world_cities.mbtiles', dir);
  gdalRaster(dir, 'raster.mbtiles', 'PNG');
  mkdirSync(join(dir, 'styles'));
  server = await startTestServer(dir);
  await server.loaded;
}, 60_000);

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

describe('generated styles', () => {
  it.each(['countries', 'world_cities', 'raster'])(
    'GET /styles/%s.json: a valid MapLibre style over the versioned tiles its TileJSON names',
    async (id) => {
      const res = await get(`/styles/${id}.json`);
      expectDiscoveryHeaders(res);
      const style = json<Style>(res);
      expect(validateStyleMin(style as never)).toEqual([]);
      const tj = await tileJson(id);
      expect(style.sources[id]?.tiles).toEqual(tj.tiles);
      expect(header(res, 'x-tilestamp-version')).toBe(tj.tiles[0]!.split('?v=')[1]);
      const drawn = style.layers.filter((l) => l.source === id);
      expect(drawn.length).toBeGreaterThan(0);
      if (style.sources[id]!.type === 'raster') {
        expect(style.sources[id]!.tileSize).toBe(256); // GDAL writes 256 px tiles; MapLibre would assume 512
      } else {
        // Every layer of the file is drawn, and nothing the file lacks.
        const layers = new Set(drawn.map((l) => l['source-layer']));
        expect([...layers].sort()).toEqual(tj.vector_layers!.map((l) => l.id).sort());
      }
    },
  );

  it('draws tippecanoe polygons as fill and outline, and points as circles (from tilestats)', async () => {
    const countries = json<Style>(await get('/styles/countries.json'));
    expect(countries.layers.map((l) => l.type)).toEqual(['background', 'fill', 'line']);
    const cities = json<Style>(await get('/styles/world_cities.json'));
    expect(cities.layers.map((l) => l.type)).toEqual(['background', 'circle']);
  });

  it('revalidates to 304 with no body', async () => {
    const first = await get('/styles/countries.json');
    const again = await get('/styles/countries.json', { 'If-None-Match': header(first, 'etag')! });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(header(again, 'etag')).toBe(header(first, 'etag'));
  });

  it.each([
    ['/styles/nope.json', 404],
    ['/styles/countries', 404],
    ['/styles/countries.json/', 404],
    ['/styles/../countries.json', 404],
    ['/styles/%2E%2E%2Fcountries.json', 404],
  ])('%s → %i, no-store', async (path, status) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(header(res, 'cache-control')).toBe('no-store');
  });

  it('lists each style in the catalog and the index, next to the versioned tile URL', async () => {
    const catalog = json<{ id: string; tiles: string; style: string }[]>(await get('/catalog.json'));
    for (const entry of catalog) {
      expect(entry.style).toBe(`${server.url}/styles/${entry.id}.json`);
      expect(entry.tiles).toBe((await tileJson(entry.id)).tiles[0]);
    }
    const html = (await get('/')).body.toString();
    for (const entry of catalog) expect(html).toContain(`href="${entry.style}"`);
  });
});

describe('user styles in data/styles/', () => {
  it('points mbtiles:// sources at the served versions and leaves the rest alone', async () => {
    const user = {
      version: 8,
      name: 'house style',
      glyphs: 'https://fonts.example.org/{fontstack}/{range}.pbf',
      sources: {
        land: { type: 'vector', url: 'mbtiles://{countries}' },
        places: { type: 'vector', url: 'mbtiles://world_cities', maxzoom: 10 },
        later: { type: 'vector', url: 'mbtiles://not-yet' },
        osm: { type: 'raster', tiles: ['https://tile.example.org/{z}/{x}/{y}.png'], tileSize: 256 },
      },
      layers: [
        { id: 'bg', type: 'background', paint: { 'background-color': '#fff' } },
        { id: 'land', type: 'fill', source: 'land', 'source-layer': 'countries' },
        { id: 'places', type: 'circle', source: 'places', 'source-layer': 'cities' },
      ],
    };
    writeFileSync(join(dir, 'styles', 'house.json'), JSON.stringify(user));
    const res = await get('/styles/house.json');
    expectDiscoveryHeaders(res);
    expect(header(res, 'x-tilestamp-unresolved')).toBe('not-yet');
    const style = json<Style>(res);
    expect(validateStyleMin(style as never)).toEqual([]);
    expect(style.sources.land!.tiles).toEqual((await tileJson('countries')).tiles);
    expect(style.sources.places).toMatchObject({ tiles: (await tileJson('world_cities')).tiles, maxzoom: 10 });
    expect(style.sources.later).toEqual({ type: 'vector', url: `${server.url}/tiles/not-yet.json` });
    expect(style.sources.osm).toEqual(user.sources.osm);
    expect(style.layers).toEqual(user.layers);
    expect(style.glyphs).toBe(user.glyphs);
  });

  it('names an unresolvable source of any spelling in a header that stays valid', async () => {
    const user = { version: 8, sources: { odd: { type: 'vector', url: 'mbtiles://{道路\nx}' } }, layers: [] };
    writeFileSync(join(dir, 'styles', 'odd.json'), JSON.stringify(user));
    const res = await get('/styles/odd.json');
    expect(res.status).toBe(200);
    expect(header(res, 'x-tilestamp-unresolved')).toBe(encodeURIComponent('道路\nx'));
  });

  it('shows an edit at once, and a user style named like a tileset wins over the generated one', async () => {
    writeFileSync(join(dir, 'styles', 'countries.json'), JSON.stringify({ version: 8, name: 'mine', sources: {}, layers: [] }));
    expect(json<{ name: string }>(await get('/styles/countries.json')).name).toBe('mine');
    writeFileSync(
      join(dir, 'styles', 'countries.json'),
      JSON.stringify({ version: 8, name: 'mine, v2', sources: {}, layers: [] }),
    );
    expect(json<{ name: string }>(await get('/styles/countries.json')).name).toBe('mine, v2');
    renameSync(join(dir, 'styles', 'countries.json'), join(dir, 'styles', '.countries.json'));
    const generated = json<{ name: string; metadata: object }>(await get('/styles/countries.json'));
    expect(generated.metadata).toHaveProperty(['tilestamp:version']);
    expect(generated.name).toBe(json<{ name: string }>(await get('/tiles/countries.json')).name);
  });

  it.each([
    ['not JSON', '{"version": 8,', /not JSON/],
    ['not an object', '[1, 2]', /not a JSON object/],
  ])('answers a style that is %s with 404 and the reason, and logs it', async (_, text, reason) => {
    writeFileSync(join(dir, 'styles', 'broken.json'), text);
    const res = await get('/styles/broken.json');
    expect(res.status).toBe(404);
    expect(header(res, 'cache-control')).toBe('no-store');
    expect(json<{ error: string }>(res).error).toMatch(reason);
    expect(server.logs.some((l) => l.message === 'user style cannot be served' && reason.test(String(l.fields.reason)))).toBe(
      true,
    );
  });
});

describe('after a data refresh', () => {
  it('names the new version, so a revalidating map learns it', async () => {
    const before = await get('/styles/countries.json');
    copyFixture('countries-v2.mbtiles', dir, '.staged');
    renameSync(join(dir, '.staged'), join(dir, 'countries.mbtiles'));
    await server.rescan('test');
    const after = await get('/styles/countries.json', { 'If-None-Match': header(before, 'etag')! });
    expect(after.status).toBe(200);
    const tiles = json<Style>(after).sources.countries!.tiles!;
    expect(tiles).toEqual((await tileJson('countries')).tiles);
    expect(tiles).not.toEqual(json<Style>(before).sources.countries!.tiles);
  });
});
