import { type Browser, chromium, type Page } from 'playwright-core';

// The function handed to page.waitForFunction runs in the browser, where `window` holds the map.
declare const window: unknown;

/** Debian's Chromium: the browser is never downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium as this machine runs it: no sandbox (root), and none of the background
 * connections that a closed network refuses (updates, sync, QUIC probes).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Every response the page got, and every error it reported. */
export function watchPage(page: Page) {
  const seen = {
    requests: [] as string[],
    responses: [] as { url: string; status: number; type: string }[],
    errors: [] as string[],
  };
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('response', (r) => seen.responses.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? '' }));
  page.on('pageerror', (e) => seen.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon/.test(m.location().url)) seen.errors.push(m.text());
  });
  return seen;
}

/** Resolves once the viewer's map (`window.tilestampMap`) has loaded its style and the tiles in view. */
export const mapSettled = (page: Page) =>
  page.waitForFunction(
    () => {
      const map = (window as unknown as { tilestampMap?: { loaded(): boolean; areTilesLoaded(): boolean } }).tilestampMap;
      return map?.loaded() === true && map.areTilesLoaded();
    },
    null,
    { timeout: 30_000 },
  );
