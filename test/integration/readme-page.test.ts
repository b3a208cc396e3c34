import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { REPO } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

// The README's map page, read from the README (never copied here) and opened as a reader would:
// saved as it is and loaded from a page server of its own, so tilestamp is another origin.
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const PAGE = README.match(/```html\n([\s\S]*?)```/)?.[1];

let tilestamp: TestServer;
let pages: Server;
let pageUrl: string;
let browser: Browser;

beforeAll(async () => {
  expect(PAGE, 'an html block in the README').toBeDefined();
  tilestamp = await startTestServer(join(REPO, 'data'));
  await tilestamp.loaded;
  // The README says localhost:8080 (npm start); the test server has a port of its own.
  const html = (PAGE as string).replaceAll('http://localhost:8080', tilestamp.url);
  pages = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/map.html`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => pages?.close(resolve));
  await tilestamp?.close();
});

describe("the README's map page, copied as it is", () => {
  it('loads MapLibre and the client from tilestamp, draws versioned tiles and follows the event stream', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    const tiles: { url: string; status: number }[] = [];
    const requested: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/favicon/.test(m.location().url)) errors.push(m.text());
    });
    page.on('request', (r) => requested.push(r.url()));
    page.on('response', (r) => {
      const tile = r.url().startsWith(`${tilestamp.url}/tiles/countries/`) && !r.url().includes('/hashes/');
      if (tile) tiles.push({ url: r.url(), status: r.status() });
    });
    const version = tilestamp.registry.get('countries');
    expect(version?.state).toBe('ok');
    await page.goto(pageUrl);
    await waitFor(() => tiles.some((t) => t.status === 200), 'a countries tile answered 200', 30_000);
    await waitFor(
      () => requested.includes(`${tilestamp.url}/api/tile-version/events`),
      'followVersions opened the event stream',
      30_000,
    );
    // MapLibre drew into its canvas: the map element holds one, sized to the page.
    const canvas = await page.evaluate(
      `(() => { const c = document.querySelector('#map canvas'); return c ? [c.width, c.height] : null; })()`,
    );
    expect(canvas).not.toBeNull();
    expect((canvas as number[]).every((n) => n > 0)).toBe(true);
    const current = (await (await fetch(`${tilestamp.url}/api/tile-version`)).json()) as { tilesets: Record<string, string> };
    // By version, or by content hash (the client's `survive`) where the block's manifest lists the tile.
    for (const tile of tiles) expect(tile.url).toMatch(new RegExp(`\\.pbf\\?(v=${current.tilesets.countries}|h=[0-9a-f]{16})$`));
    expect(errors).toEqual([]);
    await page.close();
  });
});
