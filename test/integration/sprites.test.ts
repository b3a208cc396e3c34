import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, json, rawRequest } from '../helpers/http.ts';
import { decodePng } from '../helpers/png.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Entry = {
  width: number;
  height: number;
  x: number;
  y: number;
  pixelRatio: number;
  sdf?: boolean;
  content?: number[];
  stretchX?: number[][];
  stretchY?: number[][];
};

let dir: string;
let server: TestServer;
const get = (path: string, headers: Record<string, string> = {}) => rawRequest(`${server.url}${path}`, { headers });
const index = async (path: string) => json<Record<string, Entry>>(await get(path));

/** A 20×10 button whose middle stretches, its text area marked (martin's ids). */
const BUTTON = `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10" viewBox="0 0 40 20">
<rect width="40" height="20" rx="4" fill="#08c"/>
<rect id="mapbox-stretch-x" x="8" y="0" width="24" height="20" fill="none"/>
<rect id="mapbox-stretch-y" x="0" y="4" width="40" height="12" fill="none"/>
<rect id="mapbox-content" x="8" y="4" width="24" height="12" fill="none"/>
</svg>`;
const BIG_CITY = '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="30"><circle cx="15" cy="15" r="12"/></svg>';

beforeAll(async () => {
  dir = tempDir();
  copyFixture('world_cities.mbtiles', dir);
  cpSync(join(REPO, 'data', 'fonts'), join(dir, 'fonts'), { recursive: true });
  cpSync(join(REPO, 'data', 'sprites'), join(dir, 'sprites'), { recursive: true });
  mkdirSync(join(dir, 'sprites', 'extra', 'ui'), { recursive: true });
  writeFileSync(join(dir, 'sprites', 'extra', 'ui', 'button.svg'), BUTTON);
  writeFileSync(join(dir, 'sprites', 'extra', 'city.svg'), BIG_CITY);
  writeFileSync(join(dir, 'sprites', 'extra', 'broken.svg'), '<svg this is not');
  mkdirSync(join(dir, 'styles'));
  const layers = [{ id: 'i', type: 'symbol', source: 'c', 'source-layer': 'cities', layout: { 'icon-image': 'city' } }];
  const sources = { c: { type: 'vector', url: 'mbtiles://world_cities' } };
  writeFileSync(join(dir, 'styles', 'named.json'), JSON.stringify({ version: 8, sprite: 'maki', sources, layers }));
  writeFileSync(
    join(dir, 'styles', 'many.json'),
    JSON.stringify({
      version: 8,
      sprite: [
        { id: 'a', url: 'sprites/maki' },
        { id: 'b', url: 'https://example.com/s' },
      ],
      sources,
      layers: [],
    }),
  );
  server = await startTestServer(dir);
}, 60_000);

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

describe('GET /sprites/{names}.json and .png', () => {
  it('index every icon of the sheet at its size, inside the PNG, the PNG drawn where the index says', async () => {
    const entries = await index('/sprites/maki.json');
    expect(Object.keys(entries)).toEqual(['airport', 'circle', 'city', 'marker', 'star', 'town', 'village']);
    const png = await get('/sprites/maki.png');
    expect(header(png, 'content-type')).toBe('image/png');
    const image = decodePng(png.body);
    for (const entry of Object.values(entries)) {
      expect(entry).toMatchObject({ width: 15, height: 15, pixelRatio: 1 });
      expect(entry.x + entry.width).toBeLessThanOrEqual(image.width);
      expect(entry.y + entry.height).toBeLessThanOrEqual(image.height);
    }
    // Maki's city is black on transparent: its middle column has opaque pixels, its corner none.
    const city = entries.city as Entry;
    const alpha = (x: number, y: number) => image.rgba[((city.y + y) * image.width + city.x + x) * 4 + 3] as number;
    expect(alpha(0, 0)).toBe(0);
    expect(Math.max(...Array.from({ length: 15 }, (_, y) => alpha(11, y)))).toBe(255);
  });

  it('@2x doubles every size and says pixelRatio 2', async () => {
    const entries = await index('/sprites/maki@2x.json');
    expect(entries.city).toMatchObject({ width: 30, height: 30, pixelRatio: 2 });
    const image = decodePng((await get('/sprites/maki@2x.png')).body);
    expect(image.width).toBeGreaterThanOrEqual(30);
  });

  it('.sdf gives distance fields (3 px of buffer) marked sdf', async () => {
    const entries = await index('/sprites/maki.sdf.json');
    expect(entries.city).toMatchObject({ width: 21, height: 21, pixelRatio: 1, sdf: true });
    expect((await index('/sprites/maki.sdf@2x.json')).city).toMatchObject({ width: 36, height: 36, pixelRatio: 2, sdf: true });
    const image = decodePng((await get('/sprites/maki.sdf.png')).body);
    const city = entries.city as Entry;
    // Far outside is low, the outline region crosses 191.
    const alphas = Array.from(
      { length: city.width },
      (_, x) => image.rgba[((city.y + 13) * image.width + city.x + x) * 4 + 3] as number,
    );
    expect(alphas[0]).toBeLessThan(150);
    expect(Math.max(...alphas)).toBeGreaterThan(191);
  });

  it('carry content and stretch areas from the SVG, scaled to the pixel ratio', async () => {
    expect((await index('/sprites/extra.json'))['ui/button']).toMatchObject({
      width: 20,
      height: 10,
      content: [4, 2, 16, 8],
      stretchX: [[4, 16]],
      stretchY: [[2, 8]],
    });
    expect((await index('/sprites/extra@2x.json'))['ui/button']).toMatchObject({ width: 40, content: [8, 4, 32, 16] });
  });

  it('merge sheets, the first one named giving an id both have', async () => {
    expect((await index('/sprites/maki,extra.json')).city).toMatchObject({ width: 15 });
    const reversed = await index('/sprites/extra,maki.json');
    expect(reversed.city).toMatchObject({ width: 30 });
    expect(Object.keys(reversed)).toContain('airport');
  });

  it('never serve an SVG resvg cannot read, and log it', async () => {
    expect(Object.keys(await index('/sprites/extra.json'))).toEqual(['city', 'ui/button']);
    expect(server.logs).toContainEqual(
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ 'sprite icon': 'extra/broken.svg' }) }),
    );
  });

  it('are immutable with the current v, no-cache otherwise', async () => {
    const res = await get('/sprites/maki.png');
    const version = header(res, 'x-tilestamp-version') as string;
    expect(header(await get(`/sprites/maki.png?v=${version}`), 'cache-control')).toBe('public, max-age=31536000, immutable');
    expect(header(await get(`/sprites/maki@2x.json?v=${version}`), 'cache-control')).toBe('public, max-age=31536000, immutable');
    expect(header(await get('/sprites/maki.png?v=0000000000000000'), 'cache-control')).toBe('no-cache');
    const merged = header(await get('/sprites/maki,extra.json'), 'x-tilestamp-version');
    expect(merged).not.toBe(version);
    const again = await get('/sprites/maki.png', { 'If-None-Match': header(res, 'etag') as string });
    expect(again.status).toBe(304);
  });

  it.each([
    ['/sprites/nope.json', 404],
    ['/sprites/maki,nope.json', 404],
    ['/sprites/maki', 404],
    ['/sprites/maki.gif', 404],
    ['/sprites/..%2Fetc.json', 400],
    ['/sprites/maki,,extra.json', 400],
    [`/sprites/${Array.from({ length: 65 }, () => 'maki').join(',')}.json`, 400],
  ])('%s → %i, no-store', async (path, status) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(header(res, 'cache-control')).toBe('no-store');
  });
});

describe('styles with sprites', () => {
  type Style = { sprite?: unknown; layers: { id: string; type: string; layout?: Record<string, unknown> }[] };

  it('the generated style puts the city icon at labelled points, from the versioned sheet', async () => {
    const style = json<Style>(await get('/styles/world_cities.json'));
    expect(validateStyleMin(style as never)).toEqual([]);
    const version = header(await get('/sprites/extra.json'), 'x-tilestamp-version');
    expect(style.sprite).toBe(`${server.url}/sprites/extra?v=${version}`);
    expect(style.layers.find((l) => l.id === 'cities-label')?.layout?.['icon-image']).toBe('city');
    for (const suffix of ['.json', '.png', '@2x.json', '@2x.png']) {
      const url = (style.sprite as string).replace('?', `${suffix}?`);
      const res = await rawRequest(url);
      expect(res.status).toBe(200);
      expect(header(res, 'cache-control')).toBe('public, max-age=31536000, immutable');
    }
  });

  it('a user style naming a sprite folder gets its versioned URL; absolute ones pass through', async () => {
    const named = json<Style>(await get('/styles/named.json'));
    const version = header(await get('/sprites/maki.json'), 'x-tilestamp-version');
    expect(named.sprite).toBe(`${server.url}/sprites/maki?v=${version}`);
    expect(validateStyleMin(named as never)).toEqual([]);
    const many = json<Style>(await get('/styles/many.json'));
    expect(many.sprite).toEqual([
      { id: 'a', url: `${server.url}/sprites/maki?v=${version}` },
      { id: 'b', url: 'https://example.com/s' },
    ]);
    expect(validateStyleMin(many as never)).toEqual([]);
  });
});
