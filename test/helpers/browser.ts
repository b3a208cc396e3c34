import { type Browser, chromium } from 'playwright-core';

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
