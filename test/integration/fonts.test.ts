import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { decodeGlyphs } from '../helpers/glyphs.ts';
import { header, json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let dir: string;
let server: TestServer;
const NOTO = 'Noto%20Sans%20Regular';
const get = (path: string, headers: Record<string, string> = {}) => rawRequest(`${server.url}${path}`, { headers });

beforeAll(async () => {
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  cpSync(join(REPO, 'data', 'fonts'), join(dir, 'fonts'), { recursive: true });
  // Not a font: never served, reported in the log.
  writeFileSync(join(dir, 'fonts', 'broken.ttf'), 'not a font at all');
  mkdirSync(join(dir, 'styles'));
  const layers = [
    {
      id: 'n',
      type: 'symbol',
      source: 'c',
      'source-layer': 'places',
      layout: { 'text-field': ['get', 'name'], 'text-font': ['Noto Sans Regular'] },
    },
  ];
  const userStyle = (glyphs: string) =>
    JSON.stringify({ version: 8, glyphs, sources: { c: { type: 'vector', url: 'mbtiles://countries' } }, layers });
  writeFileSync(join(dir, 'styles', 'relative.json'), userStyle('{fontstack}/{range}.pbf'));
  writeFileSync(join(dir, 'styles', 'absolute.json'), userStyle('https://example.com/fonts/{fontstack}/{range}.pbf'));
  server = await startTestServer(dir);
}, 60_000);

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

describe('GET /fonts.json', () => {
  it('lists the merged face once, by its name-table name', async () => {
    const res = await get('/fonts.json');
    expect(res.status).toBe(200);
    expect(header(res, 'cache-control')).toBe('no-cache, must-revalidate');
    expect(json(res)).toEqual(['Noto Sans Regular']);
  });

  it('is on the index page', async () => {
    const html = (await get('/')).body.toString('utf8');
    expect(html).toContain('Noto Sans Regular');
  });

  it('logs the file fontkit cannot read, and serves nothing of it', async () => {
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'font file cannot be served',
        fields: expect.objectContaining({ font: 'broken.ttf' }),
      }),
    );
  });
});

describe('GET /fonts/{fontstack}/{range}.pbf', () => {
  it('answers a range of SDF glyphs as protobuf, gzipped for clients that accept it', async () => {
    const plain = await get(`/fonts/${NOTO}/0-255.pbf`);
    expect(plain.status).toBe(200);
    expect(header(plain, 'content-type')).toBe('application/x-protobuf');
    const [stack] = decodeGlyphs(plain.body);
    expect(stack?.name).toBe('Noto Sans Regular');
    expect(stack?.range).toBe('0-255');
    expect(stack?.glyphs.some((g) => g.id === 65)).toBe(true);
    const gzipped = await get(`/fonts/${NOTO}/0-255.pbf`, { 'Accept-Encoding': 'gzip' });
    expect(header(gzipped, 'content-encoding')).toBe('gzip');
    expect(gunzipSync(gzipped.body)).toEqual(plain.body);
  });

  it("answers the same bytes at martin's /font/{fontstack}/{start}-{end}", async () => {
    const a = await get(`/fonts/${NOTO}/256-511.pbf`);
    const b = await get(`/font/${NOTO}/256-511`);
    expect(b.status).toBe(200);
    expect(b.body).toEqual(a.body);
  });

  it('is immutable with the current v, no-cache with any other or none', async () => {
    const res = await get(`/fonts/${NOTO}/0-255.pbf`);
    const version = header(res, 'x-tilestamp-version') as string;
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    expect(header(await get(`/fonts/${NOTO}/0-255.pbf?v=${version}`), 'cache-control')).toBe(
      'public, max-age=31536000, immutable',
    );
    expect(header(await get(`/fonts/${NOTO}/0-255.pbf?v=0000000000000000`), 'cache-control')).toBe('no-cache');
    expect(header(res, 'cache-control')).toBe('no-cache');
  });

  it('revalidates to 304 with its ETag', async () => {
    const res = await get(`/fonts/${NOTO}/0-255.pbf`);
    const again = await get(`/fonts/${NOTO}/0-255.pbf`, { 'If-None-Match': header(res, 'etag') as string });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  it('serves a stack from the fonts it knows, skipping the others', async () => {
    const mixed = await get(`/fonts/Nope%20Bold,${NOTO}/0-255.pbf`);
    expect(mixed.status).toBe(200);
    const [stack] = decodeGlyphs(mixed.body);
    // The name of the fonts that gave the glyphs: a range is made once for them, whatever else is asked.
    expect(stack?.name).toBe('Noto Sans Regular');
    expect(stack?.glyphs.map((g) => g.id)).toEqual(
      decodeGlyphs((await get(`/fonts/${NOTO}/0-255.pbf`)).body)[0]?.glyphs.map((g) => g.id),
    );
  });

  it('answers 50 clients asking at once for a range with the same bytes', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => get(`/fonts/${NOTO}/512-767.pbf`)));
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]));
    expect(new Set(answers.map((a) => a.body.toString('base64'))).size).toBe(1);
  });

  it.each([
    [`/fonts/${NOTO}/1-256.pbf`, 400],
    [`/fonts/${NOTO}/65536-65791.pbf`, 400],
    [`/fonts/${NOTO}/0-255`, 404],
    [`/fonts/${NOTO}/abc.pbf`, 400],
    [`/fonts/${Array.from({ length: 17 }, (_, i) => `F${i}`).join(',')}/0-255.pbf`, 400],
    [`/fonts/${NOTO},,x/0-255.pbf`, 400],
    ['/fonts/%E0%A4%A/0-255.pbf', 400],
    ['/fonts/Nope%20Bold/0-255.pbf', 404],
    ['/fonts/0-255.pbf', 404],
    ['/fonts/broken.ttf/0-255.pbf', 404],
  ])('%s → %i, no-store, no path in the answer', async (path, status) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    expect(header(res, 'cache-control')).toBe('no-store');
    expect(res.body.toString('utf8')).not.toContain(dir);
  });
});

describe('styles', () => {
  type Style = { glyphs?: string; layers: { id: string; type: string; layout?: Record<string, unknown> }[] };

  it('the generated style labels countries and places with the served font, at versioned glyph URLs', async () => {
    const style = json<Style>(await get('/styles/countries.json'));
    expect(validateStyleMin(style as never)).toEqual([]);
    expect(style.layers.filter((l) => l.type === 'symbol').map((l) => l.id)).toEqual(['countries-label']);
    const version = header(await get('/fonts.json'), 'x-tilestamp-version');
    expect(style.glyphs).toBe(`${server.url}/fonts/{fontstack}/{range}.pbf?v=${version}`);
    for (const layer of style.layers.filter((l) => l.type === 'symbol')) {
      const stack = (layer.layout?.['text-font'] as string[] | undefined)?.join(',') ?? '';
      const url = (style.glyphs as string).replace('{fontstack}', encodeURIComponent(stack)).replace('{range}', '0-255');
      const res = await rawRequest(url);
      expect(res.status).toBe(200);
      expect(header(res, 'cache-control')).toBe('public, max-age=31536000, immutable');
    }
  });

  it("a user style's relative glyphs become ours; absolute ones pass through", async () => {
    const relative = json<Style>(await get('/styles/relative.json'));
    expect(relative.glyphs).toMatch(new RegExp(`^${server.url}/fonts/\\{fontstack\\}/\\{range\\}\\.pbf\\?v=[0-9a-f]{16}$`));
    expect(validateStyleMin(relative as never)).toEqual([]);
    const absolute = json<Style>(await get('/styles/absolute.json'));
    expect(absolute.glyphs).toBe('https://example.com/fonts/{fontstack}/{range}.pbf');
    expect(validateStyleMin(absolute as never)).toEqual([]);
  });
});
