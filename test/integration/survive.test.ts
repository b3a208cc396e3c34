import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../helpers/browser.ts';
import { type CountingProxy, type Passed, startCountingProxy } from '../helpers/counting-proxy.ts';
import { removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { type CachingProxy, startCachingProxy } from '../helpers/nginx.ts';
import { solidPng, tileColour } from '../helpers/png.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { type RawTile, writeTilesFile } from '../helpers/tiles-file.ts';
import { waitFor } from '../helpers/wait.ts';

// Tiles that survive a refresh, counted at the origin: after 2 % of the tiles change, a page with
// the client module (and a CDN in front of the server) fetches the changed tiles and a few hash
// manifests, not every tile again.
//
// Raster tiles, one solid colour each (PNG written by the test): a changed tile is visible as
// pixels, so "the changed tiles are drawn, no stale tile" is checked on the canvas itself, tile by
// tile, which a vector style could only approximate.

declare const window: unknown;
/** The little of the DOM read here (the project's type check has no DOM library). */
declare const document: {
  createElement(tag: 'canvas'): {
    width: number;
    height: number;
    getContext(kind: '2d'): {
      drawImage(source: unknown, x: number, y: number): void;
      getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
    };
  };
};

/** What the test page exposes (see PAGE). */
interface TestWindow {
  tileMap: {
    loaded(): boolean;
    areTilesLoaded(): boolean;
    project(lngLat: [number, number]): { x: number; y: number };
    getCanvas(): unknown;
  };
  changes: string[];
}

interface XyzTile {
  z: number;
  x: number;
  y: number;
}

const TILE_PX = 128;
/** Map zoom 2 with 128-pixel tiles draws zoom-4 tiles: 10 × 10 of them in a 1280-pixel square. */
const VIEW_ZOOM = 4;
const VIEW_PX = 1280;

/** Zooms 0–5 complete, 6–8 below the 4 × 4 tiles of zoom 5 at x 20–23, y 8–11: 2709 tiles. */
function gridTiles(): XyzTile[] {
  const tiles: XyzTile[] = [];
  for (let z = 0; z <= 8; z++) {
    for (let x = 0; x < 2 ** z; x++) {
      for (let y = 0; y < 2 ** z; y++) {
        const d = z - 5;
        if (z > 5 && (x >> d < 20 || x >> d > 23 || y >> d < 8 || y >> d > 11)) continue;
        tiles.push({ z, x, y });
      }
    }
  }
  return tiles;
}

const ALL = gridTiles();
const key = (t: XyzTile) => `${t.z}/${t.x}/${t.y}`;
/** Zoom-4 tiles in view (x and y 3–12 at the centre [0, 0]); two of them change. */
const IN_VIEW_CHANGED = ['4/5/6', '4/9/8'];
/** 2 % of all tiles: the two in view, and every 46th of the tiles at the other zooms. */
const CHANGED = new Set([
  ...IN_VIEW_CHANGED,
  ...ALL.filter((t) => t.z !== VIEW_ZOOM)
    .filter((_, i) => i % 46 === 0)
    .slice(0, Math.ceil(ALL.length * 0.02) - IN_VIEW_CHANGED.length)
    .map(key),
]);

const colourOf = (t: XyzTile, generation: number) => tileColour(t.z, t.x, t.y, CHANGED.has(key(t)) ? generation : 0);

function writeGrid(path: string, generation: number): void {
  const tiles: RawTile[] = ALL.map((t) => ({
    z: t.z,
    x: t.x,
    y: 2 ** t.z - 1 - t.y,
    data: solidPng(colourOf(t, generation), TILE_PX),
  }));
  writeTilesFile(path, tiles, { format: 'png', minzoom: '0', maxzoom: '8' });
}

const isTileBody = (p: Passed) => /^\/tiles\/grid\/\d+\/\d+\/\d+\.png\?/.test(p.path) && p.status === 200;
const isManifest = (p: Passed) => /^\/tiles\/grid\/hashes\//.test(p.path);

function page(tiles: string, survive: boolean): string {
  return `<!doctype html><html><head><link rel="stylesheet" href="/vendor/maplibre-gl/maplibre-gl.css">
<style>body{margin:0}#map{width:${VIEW_PX}px;height:${VIEW_PX}px}</style></head><body><div id="map"></div>
<script src="/vendor/maplibre-gl/maplibre-gl.js"></script>
<script type="module">
const { followVersions } = await import('/client/tilestamp.js');
const map = new maplibregl.Map({
  container: 'map',
  style: { version: 8, sources: { grid: { type: 'raster', tiles: [${JSON.stringify(tiles)}], tileSize: ${TILE_PX}, maxzoom: 8 } },
    layers: [{ id: 'grid', type: 'raster', source: 'grid', paint: { 'raster-fade-duration': 0, 'raster-resampling': 'nearest' } }] },
  center: [0, 0], zoom: 2, fadeDuration: 0, attributionControl: false, interactive: false,
  canvasContextAttributes: { preserveDrawingBuffer: true },
});
window.tileMap = map;
window.changes = [];
followVersions(map, { server: location.origin, survive: ${survive}, onChange: (change) => window.changes.push(change.version) });
</script></body></html>`;
}

const settled = (p: Page) =>
  p.waitForFunction(
    () => {
      const w = window as TestWindow;
      return w.tileMap?.loaded() === true && w.tileMap.areTilesLoaded();
    },
    null,
    { timeout: 60_000 },
  );

/** The colour drawn at the centre of each zoom-4 tile in view, read from the canvas. */
function drawnColours(p: Page): Promise<Record<string, number[]>> {
  return p.evaluate(
    ({ z, px }) => {
      const w = window as TestWindow;
      const canvas = document.createElement('canvas');
      canvas.width = px;
      canvas.height = px;
      const context = canvas.getContext('2d');
      context.drawImage(w.tileMap.getCanvas(), 0, 0);
      const n = 2 ** z;
      const out: Record<string, number[]> = {};
      for (let x = 0; x < n; x++) {
        for (let y = 0; y < n; y++) {
          const lng = ((x + 0.5) / n) * 360 - 180;
          const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * (y + 0.5)) / n))) * 180) / Math.PI;
          const at = w.tileMap.project([lng, lat]);
          if (at.x < 2 || at.y < 2 || at.x > px - 2 || at.y > px - 2) continue;
          out[`${z}/${x}/${y}`] = [...context.getImageData(Math.round(at.x), Math.round(at.y), 1, 1).data.slice(0, 3)];
        }
      }
      return out;
    },
    { z: VIEW_ZOOM, px: VIEW_PX },
  );
}

/** Every tile in view is drawn in its colour of `generation` (±2 per channel). */
/** Whether every tile in view is drawn in its colour of `generation` (±2 per channel). */
function drawnAs(drawn: Record<string, number[]>, generation: number): boolean {
  return Object.entries(drawn).every(([k, rgb]) => {
    const [z, x, y] = k.split('/').map(Number) as [number, number, number];
    const want = colourOf({ z, x, y }, generation);
    return rgb.every((c, i) => Math.abs(c - (want[i] as number)) <= 2);
  });
}

function expectDrawn(drawn: Record<string, number[]>, generation: number): void {
  expect(Object.keys(drawn).length).toBeGreaterThanOrEqual(60);
  expect(Object.keys(drawn)).toEqual(expect.arrayContaining(IN_VIEW_CHANGED));
  for (const [k, rgb] of Object.entries(drawn)) {
    const [z, x, y] = k.split('/').map(Number) as [number, number, number];
    const want = colourOf({ z, x, y }, generation);
    expect(
      rgb.every((c, i) => Math.abs(c - (want[i] as number)) <= 2),
      `${k} drawn ${rgb}, expected ${want}`,
    ).toBe(true);
  }
}

let dir: string;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  expect(existsSync(CHROMIUM), 'Debian chromium is installed').toBe(true);
  dir = tempDir();
  writeGrid(join(dir, 'grid.mbtiles'), 0);
  server = await startTestServer(dir, { watch: true, settleMs: 200 });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  removeDir(dir);
});

const version = async () =>
  json<{ tilesets: Record<string, string> }>(await rawRequest(`${server.url}/api/tile-version`)).tilesets.grid as string;

describe('a refresh that changed 2 % of the tiles', () => {
  it('the client module fetches the changed tiles and a few manifests; without it, every tile again', async () => {
    expect(CHANGED.size).toBe(Math.ceil(ALL.length * 0.02));
    expect(ALL.length).toBeGreaterThan(2000);
    const proxies: CountingProxy[] = [];
    const pages: Page[] = [];
    try {
      const before = await version();
      for (const survive of [true, false]) {
        const html: Record<string, string> = {};
        const proxy = await startCountingProxy(server.url, html);
        html['/page.html'] = page(`${proxy.url}/tiles/grid/{z}/{x}/{y}.png?v=${before}`, survive);
        proxies.push(proxy);
        const context = await browser.newContext({ viewport: { width: VIEW_PX, height: VIEW_PX } });
        const p = await context.newPage();
        const errors: string[] = [];
        p.on('pageerror', (e) => errors.push(e.message));
        await p.goto(`${proxy.url}/page.html`);
        await settled(p);
        expect(errors).toEqual([]);
        expectDrawn(await drawnColours(p), 0);
        pages.push(p);
      }
      const [withModule, without] = proxies as [CountingProxy, CountingProxy];
      const inView = withModule.passed.filter(isTileBody).length;
      expect(inView).toBeGreaterThanOrEqual(60);
      expect(withModule.passed.filter(isTileBody).every((p) => /\?h=[0-9a-f]{16}$/.test(p.path))).toBe(true);
      expect(without.passed.filter(isTileBody).length).toBeGreaterThanOrEqual(inView);
      const seenBefore = proxies.map((p) => p.passed.length);

      const staged = join(dir, '.grid.staged');
      writeGrid(staged, 1);
      renameSync(staged, join(dir, 'grid.mbtiles'));
      await waitFor(async () => (await version()) !== before, 'the server to take the new file', 30_000);
      const after = await version();
      for (const p of pages) {
        await p.waitForFunction((v) => (window as TestWindow).changes.includes(v), after, { timeout: 30_000 });
        await settled(p);
        // The reload that follows setTiles may still be under way: wait for the new frame.
        await waitFor(async () => drawnAs(await drawnColours(p), 1), 'every tile in view drawn anew', 30_000).catch(() => {});
        expectDrawn(await drawnColours(p), 1);
      }
      const [survived, refetched] = proxies.map((p, i) => p.passed.slice(seenBefore[i])) as [Passed[], Passed[]];
      const bodies = survived.filter(isTileBody);
      // The two changed tiles in view, nothing else; at most 3 % of the tiles in view.
      expect(bodies.map((p) => p.path.replace(/\.png.*/, '').replace('/tiles/grid/', '')).sort()).toEqual(IN_VIEW_CHANGED);
      expect(bodies.length).toBeLessThanOrEqual(Math.floor(inView * 0.03));
      const manifests = survived.filter(isManifest);
      expect(manifests.length).toBeGreaterThan(0);
      expect(manifests.length).toBeLessThanOrEqual(8);
      expect(survived.filter((p) => !isTileBody(p) && !isManifest(p) && p.path.startsWith('/tiles/'))).toEqual([]);
      // Without the module: every tile in view again, under the new version.
      expect(refetched.filter(isTileBody).length).toBeGreaterThanOrEqual(inView);
      expect(refetched.filter(isManifest)).toEqual([]);
    } finally {
      for (const p of pages) await p.context().close();
      for (const proxy of proxies) await proxy.stop();
    }
  }, 240_000);
});

describe('through the nginx config in deploy/', () => {
  let origin: CountingProxy;
  let nginx: CachingProxy;
  beforeAll(async () => {
    origin = await startCountingProxy(server.url);
    nginx = await startCachingProxy(origin.port);
  });
  afterAll(async () => {
    await nginx?.stop();
    await origin?.stop();
  });

  /** The blocks holding the tiles with zooms 6–8: 0/0/0 and the 16 of zoom 5 above them. */
  const BLOCKS = [[0, 0, 0], ...Array.from({ length: 16 }, (_, i) => [5, 20 + (i % 4), 8 + Math.floor(i / 4)])];

  /** What a fresh client with the module fetches for every tile of BLOCKS; returns the tiles fetched. */
  async function fetchBlocks(v: string): Promise<string[]> {
    const fetched: string[] = [];
    for (const [z, x, y] of BLOCKS) {
      const res = await fetch(`${nginx.url}/tiles/grid/hashes/${z}/${x}/${y}.json?v=${v}`);
      expect(res.status).toBe(200);
      const { tiles } = (await res.json()) as { tiles: Record<string, string> };
      expect(Object.keys(tiles)).toHaveLength(z === 0 ? 341 : 85);
      const entries = Object.entries(tiles);
      for (let i = 0; i < entries.length; i += 8) {
        await Promise.all(
          entries.slice(i, i + 8).map(async ([k, h]) => {
            const tile = await fetch(`${nginx.url}/tiles/grid/${k}.png?h=${h}`);
            expect(tile.status).toBe(200);
            await tile.arrayBuffer();
            fetched.push(k);
          }),
        );
      }
    }
    return fetched;
  }

  it('a second client after a swap costs the origin the changed tiles and a manifest', async () => {
    const before = await version();
    await fetchBlocks(before); // the first client fills the CDN
    const staged = join(dir, '.grid.staged');
    writeGrid(staged, 2);
    renameSync(staged, join(dir, 'grid.mbtiles'));
    await waitFor(async () => (await version()) !== before, 'the server to take the new file', 30_000);
    const after = await version();
    const seen = origin.passed.length;
    const fetched = await fetchBlocks(after); // the second, fresh client
    const passed = origin.passed.slice(seen);
    const bodies = passed.filter(isTileBody);
    expect(bodies.map((p) => p.path.replace(/\.png.*/, '').replace('/tiles/grid/', '')).sort()).toEqual(
      fetched.filter((k) => CHANGED.has(k)).sort(),
    );
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies.length).toBeLessThanOrEqual(Math.floor(fetched.length * 0.03));
    expect(passed.filter(isManifest)).toHaveLength(BLOCKS.length);
    // Without the module, the same tiles under the new version all reach the origin.
    const plain = origin.passed.length;
    for (const k of ['5/21/9', '6/42/18', '7/84/36'])
      await (await fetch(`${nginx.url}/tiles/grid/${k}.png?v=${after}`)).arrayBuffer();
    expect(origin.passed.slice(plain).filter(isTileBody)).toHaveLength(3);
  }, 120_000);
});
