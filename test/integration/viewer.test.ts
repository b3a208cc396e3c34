import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium, mapSettled, watchPage } from '../helpers/browser.ts';
import { copyFixture, execSql, gdalRaster, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

// The functions handed to page.evaluate run in the browser; these name what they use there
// (the project's type check has no DOM library).
declare const window: unknown;
declare const document: {
  querySelector(s: string): { textContent: string | null } | null;
  querySelectorAll(s: string): { length: number };
  getElementById(id: string): { dataset: Record<string, string> } | null;
};
declare function requestAnimationFrame(callback: () => void): number;

/** What the Leaflet test page holds: Leaflet's `L` (only what is used), the client, the records. */
interface LeafletPage {
  L: {
    map(id: string): { setView(center: [number, number], zoom: number): unknown };
    tileLayer(url: string, options: object): { addTo(map: unknown): { once(event: string, fn: () => void): void } };
  };
  followLeafletLayer(layer: unknown, options: { server: string; onChange(change: { version: string }): void }): void;
  changes: string[];
  fewest: number;
}

let dir: string;
let server: TestServer;
let browser: Browser;

const versions = async () =>
  json<{ tilesets: Record<string, string> }>(await rawRequest(`${server.url}/api/tile-version`)).tilesets;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), 'Debian chromium is installed (apt-get install chromium)').toBe(true);
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  gdalRaster(dir, 'raster.mbtiles', 'PNG');
  // Watching on, as `tilestamp serve` runs: the swap below reaches the page through the real path.
  server = await startTestServer(dir, { watch: true, settleMs: 200 });
  await server.loaded;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  removeDir(dir);
});

describe('static files for pages', () => {
  it.each(['/vendor/maplibre-gl/maplibre-gl.js', '/vendor/maplibre-gl/maplibre-gl.css', '/client/tilestamp.js'])(
    '%s: immutable at the URL the viewer links, revalidated at any other',
    async (route) => {
      const page = `${server.url}/viewer/countries`;
      const html = (await rawRequest(page)).body.toString();
      const linked = new RegExp(`"(\\.\\./${route.slice(1).replace(/[.]/g, '\\.')}\\?v=[0-9a-f]{16})"`).exec(html);
      expect(linked, `the viewer links ${route} with its digest, relative to the page`).not.toBeNull();
      const versioned = await getGzip(new URL(linked![1]!, page).href);
      expect(versioned.status).toBe(200);
      expect(header(versioned, 'cache-control')).toBe('public, max-age=31536000, immutable');
      expect(header(versioned, 'content-encoding')).toBe('gzip');
      expect(header(versioned, 'content-type')).toMatch(route.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      const plain = await rawRequest(`${server.url}${route}`);
      expect(header(plain, 'cache-control')).toBe('no-cache');
      expect(header(plain, 'content-encoding')).toBeUndefined();
      const again = await rawRequest(`${server.url}${route}`, { headers: { 'If-None-Match': header(plain, 'etag')! } });
      expect(again.status).toBe(304);
      expect(header(await rawRequest(`${server.url}${route}?v=0000000000000000`), 'cache-control')).toBe('no-cache');
    },
  );

  it('links its own scripts relative to the page, whatever the Host header says', async () => {
    for (const [path, up] of [
      ['/viewer/countries', '../'],
      ['/viewer/raster', '../'],
    ]) {
      const html = (await rawRequest(`${server.url}${path}`, { headers: { Host: 'elsewhere.example:9999' } })).body.toString();
      const sources = [...html.matchAll(/<script src="([^"]+)"|href="([^"]+\.css[^"]*)"|"client":"([^"]+)"/g)].map(
        (m) => m[1] ?? m[2] ?? m[3],
      );
      expect(sources).toHaveLength(3);
      for (const src of sources) expect(src!.startsWith(up!) && !src!.includes('elsewhere.example')).toBe(true);
    }
  });

  it('serves no other file from those folders', async () => {
    for (const path of [
      '/vendor/maplibre-gl/package.json',
      '/vendor/maplibre-gl/../../package.json',
      '/client/../package.json',
    ]) {
      expect((await rawRequest(`${server.url}${path}`)).status).toBe(404);
    }
  });
});

describe('the viewer in Chromium', () => {
  it('draws a vector tileset from versioned tile URLs only', async () => {
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const seen = watchPage(page);
    await page.goto(`${server.url}/viewer/countries`);
    await mapSettled(page);
    const rendered = await page.evaluate(() =>
      (window as unknown as { tilestampMap: { queryRenderedFeatures(): unknown[] } }).tilestampMap.queryRenderedFeatures(),
    );
    expect(rendered.length).toBeGreaterThan(50);
    const version = (await versions()).countries;
    // Tiles by content hash (`?h=`, from the hash manifests), or by version where a manifest lists none.
    const tiles = seen.responses.filter((r) => r.url.includes('/tiles/countries/') && !r.url.includes('/hashes/'));
    expect(tiles.length).toBeGreaterThan(0);
    expect(tiles.some((t) => /\?h=[0-9a-f]{16}$/.test(t.url))).toBe(true);
    for (const t of tiles) {
      expect(t.url.endsWith(`?v=${version}`) || /\?h=[0-9a-f]{16}$/.test(t.url)).toBe(true);
      expect(t.status).toBe(200);
      expect(t.type).toBe('application/vnd.mapbox-vector-tile');
    }
    // Nothing was asked of anywhere but this server (the map's worker is a blob of it).
    expect(seen.requests.filter((url) => !url.startsWith(`${server.url}/`) && !url.startsWith(`blob:${server.url}/`))).toEqual(
      [],
    );
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it('draws a raster tileset', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 400 } });
    const seen = watchPage(page);
    await page.goto(`${server.url}/viewer/raster`);
    await mapSettled(page);
    const tiles = seen.responses.filter((r) => r.url.includes('/tiles/raster/') && !r.url.includes('/hashes/'));
    expect(tiles.length).toBeGreaterThan(0);
    for (const t of tiles) expect([t.status, t.type]).toEqual([200, 'image/png']);
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it('moves to a new version when the file is replaced, without a reload and without blank tiles', async () => {
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const seen = watchPage(page);
    await page.goto(`${server.url}/viewer/countries`);
    await mapSettled(page);
    const before = (await versions()).countries!;
    // From here on, the page records on every frame how many features it draws.
    await page.evaluate(() => {
      const w = window as unknown as { tilestampMap: { queryRenderedFeatures(): unknown[] }; fewest: number; frames: number };
      w.fewest = Number.POSITIVE_INFINITY;
      w.frames = 0;
      const look = () => {
        w.fewest = Math.min(w.fewest, w.tilestampMap.queryRenderedFeatures().length);
        w.frames++;
        requestAnimationFrame(look);
      };
      requestAnimationFrame(look);
    });
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));

    const answeredBefore = seen.responses.length;
    copyFixture('countries-v2.mbtiles', dir, '.countries.staged');
    renameSync(join(dir, '.countries.staged'), join(dir, 'countries.mbtiles'));
    await waitFor(async () => (await versions()).countries !== before, 'the server to take the new file', 15_000);
    const after = (await versions()).countries!;
    await page.waitForFunction((v) => document.querySelector('#version code')?.textContent === v, after, { timeout: 15_000 });
    await mapSettled(page);

    expect(await page.evaluate(() => document.getElementById('version')?.dataset.previous)).toBe(before);
    const refreshed = await page.evaluate(
      () =>
        (
          window as unknown as { tilestampMap: { queryRenderedFeatures(): { properties: Record<string, unknown> }[] } }
        ).tilestampMap
          .queryRenderedFeatures()
          .filter((f) => 'refreshed' in f.properties).length,
    );
    expect(refreshed, 'features of the new file (they carry `refreshed`) are drawn').toBeGreaterThan(50);
    const { fewest, frames } = await page.evaluate(() => {
      const w = window as unknown as { fewest: number; frames: number };
      return { fewest: w.fewest, frames: w.frames };
    });
    expect(frames).toBeGreaterThan(5);
    expect(fewest, 'features drawn on the emptiest frame during the swap').toBeGreaterThan(50);
    expect(navigations).toEqual([]);
    const newTiles = seen.responses
      .slice(answeredBefore)
      .filter((r) => r.url.includes('/tiles/countries/') && !r.url.includes('/hashes/'));
    expect(newTiles.length).toBeGreaterThan(0);
    for (const t of newTiles) expect(t.status).toBe(200);
    expect(seen.errors).toEqual([]);
    await page.close();
  });

  it('keeps a Leaflet tile layer on the new version, laying the new tiles over the old ones', async () => {
    const page = await browser.newPage({ viewport: { width: 600, height: 400 } });
    const seen = watchPage(page);
    await page.goto(`${server.url}/health`); // this origin, then a page of the test's own
    await page.setContent('<!doctype html><div id="map" style="width:600px;height:400px"></div>');
    await page.addStyleTag({ path: join(REPO, 'node_modules/leaflet/dist/leaflet.css') });
    await page.addScriptTag({ path: join(REPO, 'node_modules/leaflet/dist/leaflet.js') });
    // A module script imports the client, as a page would (an import() inside evaluate would be
    // rewritten by the test runner's transform).
    await page.addScriptTag({
      type: 'module',
      content: `import { followLeafletLayer } from '${server.url}/client/tilestamp.js'; window.followLeafletLayer = followLeafletLayer;`,
    });
    await page.waitForFunction(() => typeof (window as unknown as Record<string, unknown>).followLeafletLayer === 'function');
    const tileJson = json<{ tiles: string[]; maxzoom: number }>(await rawRequest(`${server.url}/tiles/raster.json`));
    const before = (await versions()).raster!;
    await page.evaluate(
      async ([server, template, maxZoom]) => {
        const w = window as unknown as LeafletPage;
        const map = w.L.map('map').setView([20, 0], maxZoom);
        const layer = w.L.tileLayer(template, { maxZoom }).addTo(map);
        await new Promise<void>((resolve) => layer.once('load', () => resolve()));
        w.changes = [];
        w.followLeafletLayer(layer, { server, onChange: (change: { version: string }) => w.changes.push(change.version) });
        // From here on, how many loaded tiles are on screen, on every frame.
        w.fewest = Number.POSITIVE_INFINITY;
        const look = () => {
          w.fewest = Math.min(w.fewest, document.querySelectorAll('.leaflet-tile-loaded').length);
          requestAnimationFrame(look);
        };
        requestAnimationFrame(look);
      },
      [server.url, tileJson.tiles[0]!, tileJson.maxzoom] as const,
    );
    const answeredBefore = seen.responses.length;
    // The next refresh: the tiles of the zoom on screen replaced by another image.
    const staged = join(dir, '.raster.staged');
    copyFileSync(join(dir, 'raster.mbtiles'), staged);
    execSql(
      staged,
      `UPDATE tiles SET tile_data = (SELECT tile_data FROM tiles WHERE zoom_level = 0) WHERE zoom_level = ${tileJson.maxzoom}`,
    );
    renameSync(staged, join(dir, 'raster.mbtiles'));
    await waitFor(async () => (await versions()).raster !== before, 'the server to take the new file', 15_000);
    const after = (await versions()).raster!;
    await page.waitForFunction((v) => (window as unknown as { changes: string[] }).changes.includes(v), after, {
      timeout: 15_000,
    });
    const state = await page.evaluate(() => ({
      fewest: (window as unknown as { fewest: number }).fewest,
      layers: document.querySelectorAll('.leaflet-layer').length,
    }));
    expect(state.fewest, 'loaded tiles on screen on the emptiest frame').toBeGreaterThan(0);
    expect(state.layers, 'the old layer is gone once the new one has loaded').toBe(1);
    const fresh = seen.responses
      .slice(answeredBefore)
      .filter((r) => r.url.includes('/tiles/raster/') && !r.url.includes('/hashes/'));
    expect(fresh.length).toBeGreaterThan(0);
    for (const t of fresh) expect([t.status, t.type]).toEqual([200, 'image/png']);
    // Tiles by content hash through the layer's asynchronous createTile.
    expect(seen.responses.some((r) => /\/tiles\/raster\/.*\?h=[0-9a-f]{16}$/.test(r.url))).toBe(true);
    expect(seen.errors).toEqual([]);
    await page.close();
  });
});
