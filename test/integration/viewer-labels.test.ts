import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, mapSettled, watchPage } from '../helpers/browser.ts';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

// Functions handed to page.evaluate run in the browser, where `window` holds the viewer's map.
declare const window: unknown;
declare const document: unknown;

interface MapHandle {
  getZoom(): number;
  getBounds(): { getWest(): number; getEast(): number; getSouth(): number; getNorth(): number };
  project(lngLat: [number, number]): { x: number; y: number };
  queryRenderedFeatures(options?: { layers: string[] }): unknown[];
  setLayoutProperty(layer: string, name: string, value: unknown): void;
  once(event: string, fn: () => void): void;
  triggerRepaint(): void;
}

let dir: string;
let server: TestServer;
let browser: Browser;

/** Sets a layout property on layers, waits for the map to be idle again, then screenshots. */
async function drawnWith(page: Page, layers: string[], name: string, value: unknown): Promise<Buffer> {
  await page.evaluate(
    ([layers, name, value]) =>
      new Promise<void>((resolve) => {
        const map = (window as { tilestampMap: MapHandle }).tilestampMap;
        map.once('idle', () => resolve());
        for (const layer of layers as string[]) map.setLayoutProperty(layer, name as string, value);
        map.triggerRepaint();
      }),
    [layers, name, value] as const,
  );
  return page.screenshot();
}

beforeAll(async () => {
  dir = tempDir();
  // The sample data as shipped: countries and places, Noto Sans, Maki.
  for (const name of ['countries.mbtiles', 'fonts', 'sprites'])
    cpSync(join(REPO, 'data', name), join(dir, name), { recursive: true });
  // A points-only tileset whose metadata centre (z6 over the Atlantic coast) shows almost nothing.
  copyFixture('world_cities.mbtiles', dir);
  server = await startTestServer(dir, { watch: true, settleMs: 200 });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  removeDir(dir);
});

describe('the viewer of the sample data in Chromium', () => {
  it('draws country and city names and the city icon, all from this server', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    const seen = watchPage(page);
    await page.goto(`${server.url}/viewer/countries#2/48/10`);
    await mapSettled(page);
    const placed = await page.evaluate(() => {
      const map = (window as { tilestampMap: MapHandle }).tilestampMap;
      return {
        countries: map.queryRenderedFeatures({ layers: ['countries-label'] }).length,
        places: map.queryRenderedFeatures({ layers: ['places-label'] }).length,
      };
    });
    expect(placed.countries).toBeGreaterThan(0);
    expect(placed.places).toBeGreaterThan(0);

    // Pixels: the labels and the icon change what is drawn.
    const full = await page.screenshot();
    const noIcons = await drawnWith(page, ['places-label'], 'icon-image', '');
    const noText = await drawnWith(page, ['places-label', 'countries-label'], 'text-field', '');
    expect(noIcons.equals(full)).toBe(false);
    expect(noText.equals(noIcons)).toBe(false);

    const glyphs = seen.responses.filter((r) => r.url.startsWith(`${server.url}/fonts/`));
    const sprites = seen.responses.filter((r) => r.url.startsWith(`${server.url}/sprites/`));
    expect(glyphs.length).toBeGreaterThan(0);
    expect(sprites.map((r) => new URL(r.url).pathname).sort()).toEqual(
      expect.arrayContaining(['/sprites/maki.json', '/sprites/maki.png']),
    );
    for (const r of [...glyphs, ...sprites]) expect([r.url, r.status]).toEqual([r.url, 200]);
    // Versioned, and the versions the server serves now (so immutable).
    for (const r of [...glyphs, ...sprites]) {
      expect(header(await rawRequest(r.url), 'cache-control'), r.url).toBe('public, max-age=31536000, immutable');
    }
    expect(seen.requests.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith(`blob:${server.url}/`))).toEqual(
      [],
    );
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it('follows a new sprite and new fonts without a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    const seen = watchPage(page);
    await page.goto(`${server.url}/viewer/countries#2/48/10`);
    await mapSettled(page);
    const spriteBefore = header(await rawRequest(`${server.url}/sprites/maki.json`), 'x-tilestamp-version');
    const fontsBefore = header(await rawRequest(`${server.url}/fonts.json`), 'x-tilestamp-version');
    /** Resolves once the page got a 200 for a URL under `path` whose `v` is not `before`. */
    const fetchedAnew = (path: string, before: string | undefined) =>
      waitFor(
        () =>
          seen.responses.some(
            (r) => r.url.startsWith(`${server.url}${path}`) && !r.url.endsWith(`?v=${before}`) && r.status === 200,
          ),
        `the page to fetch ${path} at a new version`,
        30_000,
      );
    writeFileSync(
      join(dir, 'sprites', 'maki', 'dot.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle cx="4" cy="4" r="3"/></svg>',
    );
    await fetchedAnew('/sprites/maki', spriteBefore);
    // A copy of a subset file: it merges into the face, so the fonts version changes.
    cpSync(
      join(REPO, 'data', 'fonts', 'noto-sans', 'noto-sans-latin-400-normal.woff2'),
      join(dir, 'fonts', 'copy-of-latin.woff2'),
    );
    await fetchedAnew('/fonts/', fontsBefore);
    expect(await page.evaluate(() => (window as { tilestampMap: { getGlyphs(): string } }).tilestampMap.getGlyphs())).toContain(
      `?v=${header(await rawRequest(`${server.url}/fonts.json`), 'x-tilestamp-version')}`,
    );
    expect(seen.requests.every((url) => url.startsWith(`${server.url}/`) || url.startsWith(`blob:${server.url}/`))).toBe(true);
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it("opens a points-only tileset on its data, lists its layers, and shows a feature's properties on hover", async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    const seen = watchPage(page);
    await page.goto(`${server.url}/viewer/world_cities`);
    await mapSettled(page);
    const view = await page.evaluate(() => {
      const map = (window as { tilestampMap: MapHandle }).tilestampMap;
      const b = map.getBounds();
      return { zoom: map.getZoom(), west: b.getWest(), east: b.getEast(), south: b.getSouth(), north: b.getNorth() };
    });
    // Fitted to the bounds (-123.1, -37.8, 174.8, 59.4), not the metadata centre at z6.
    expect(view.zoom).toBeLessThan(3);
    expect(view.west).toBeLessThanOrEqual(-123);
    expect(view.east).toBeGreaterThanOrEqual(174);
    expect(view.south).toBeLessThanOrEqual(-37);
    expect(view.north).toBeGreaterThanOrEqual(59);
    expect(await page.locator('#layers li').allTextContents()).toEqual(['cities']);
    // Hover a city: its properties show, as text.
    const point = await page.evaluate(() => {
      const map = (window as { tilestampMap: MapHandle }).tilestampMap;
      const [feature] = map.queryRenderedFeatures({ layers: ['cities-circle'] }) as {
        geometry: { coordinates: [number, number] };
      }[];
      return feature ? map.project(feature.geometry.coordinates) : undefined;
    });
    expect(point).toBeDefined();
    await page.mouse.move(point!.x, point!.y);
    await page.waitForFunction(() =>
      (document as { getElementById(id: string): { textContent: string } })
        .getElementById('inspect')
        .textContent.includes('[cities]'),
    );
    expect(await page.locator('#inspect').textContent()).toMatch(/\[cities\]\nname: \S/);
    // With a view in the URL, that view wins.
    await page.goto(`${server.url}/viewer/world_cities#5/40/-75`);
    await mapSettled(page);
    expect(await page.evaluate(() => Math.round((window as { tilestampMap: MapHandle }).tilestampMap.getZoom()))).toBe(5);
    expect(seen.errors).toEqual([]);
    await page.close();
  });
});
