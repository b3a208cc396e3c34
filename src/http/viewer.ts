import type { Context } from 'koa';
import type { Config } from '../config.ts';
import type { Registry } from '../source/registry.ts';
import type { Assets } from './assets.ts';
import { escapeHtml } from './discovery-routes.ts';
import { HttpError } from './errors.ts';
import { requestBase, requireSource } from './lookup.ts';
import { sendDiscovery } from './respond.ts';
import { styleUrl } from './style.ts';

/** JSON that is safe inside an inline <script>: no `</script>` or `<!--` can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * GET /viewer/{id}: a full-page MapLibre GL map of the tileset's style. maplibre-gl and the
 * client module come from this server (node_modules, never a CDN); the client follows the
 * event stream, so the map moves to a new version without a reload and without blank tiles.
 * The current version shows in a corner (`#version`), for people and for tests.
 */
export function viewerHandler(registry: Registry, config: Config, assets: Assets) {
  return async function serveViewer(ctx: Context): Promise<void> {
    const id = ctx.path.slice('/viewer/'.length);
    const source = requireSource(registry, id);
    const base = requestBase(ctx, config);
    // The page's own scripts are linked relative to it, never through the Host header, so no
    // forged header (or cache keyed without it) can make the page run script from elsewhere.
    const up = '../'.repeat(id.split('/').length);
    const own = async (route: string) => up + (await assets.url(route)).slice(1);
    let script: string;
    let css: string;
    let client: string;
    try {
      [script, css, client] = await Promise.all([
        own('/vendor/maplibre-gl/maplibre-gl.js'),
        own('/vendor/maplibre-gl/maplibre-gl.css'),
        own('/client/tilestamp.js'),
      ]);
    } catch (error) {
      const reason = error instanceof HttpError ? error.logFields?.reason : (error as Error).message;
      throw new HttpError(404, 'the viewer is not installed here', undefined, { reason });
    }
    const settings = { id: source.id, version: source.version, server: base, style: styleUrl(base, source.id), client };
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(source.info.name)} · tilestamp</title>
<link rel="stylesheet" href="${escapeHtml(css)}">
<style>html,body,#map{margin:0;height:100%}#version{position:absolute;top:8px;left:8px;z-index:2;background:#fffd;padding:4px 8px;font:12px/1.4 system-ui,sans-serif;border-radius:4px}</style>
</head><body><div id="map"></div><div id="version">${escapeHtml(source.id)} <code>${source.version}</code></div>
<script src="${escapeHtml(script)}"></script>
<script type="module">
const settings = ${scriptJson(settings)};
const { followVersions } = await import(settings.client);
const map = new maplibregl.Map({ container: 'map', style: settings.style, hash: true });
map.addControl(new maplibregl.NavigationControl());
const label = document.getElementById('version');
followVersions(map, {
  server: settings.server,
  onChange: (change) => {
    label.querySelector('code').textContent = change.version;
    label.dataset.previous = change.previous;
  },
});
window.tilestampMap = map;
</script>
</body></html>
`;
    sendDiscovery(ctx, html, 'text/html; charset=utf-8');
  };
}
