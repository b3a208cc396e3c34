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
 * The viewer's inspector: a list of the style's data layers with their colours, and the
 * properties of the features under the pointer (hover, or click on touch screens). Text only
 * (textContent): feature properties are data, never markup.
 */
const INSPECTOR = `const colorOf = (layer) => {
  const paint = layer.paint ?? {};
  const color = paint['fill-color'] ?? paint['line-color'] ?? paint['circle-color'] ?? paint['text-color'];
  return typeof color === 'string' ? color : '#888';
};
map.on('load', () => {
  const list = document.getElementById('layers');
  const seen = new Set();
  for (const layer of map.getStyle().layers) {
    const name = layer['source-layer'] ?? (layer.type === 'raster' ? layer.source : undefined);
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.style.background = colorOf(layer);
    item.append(swatch, name);
    list.append(item);
  }
});
const inspect = document.getElementById('inspect');
const show = (event) => {
  const features = map.queryRenderedFeatures(event.point).filter((f) => f.sourceLayer !== undefined);
  const seen = new Set();
  const lines = [];
  for (const feature of features) {
    const key = feature.sourceLayer + ':' + (feature.id ?? JSON.stringify(feature.properties));
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push('[' + feature.sourceLayer + ']');
    for (const [k, v] of Object.entries(feature.properties)) lines.push(k + ': ' + v);
    if (seen.size === 3) break;
  }
  inspect.textContent = lines.join('\\n');
  map.getCanvas().style.cursor = lines.length > 0 ? 'pointer' : '';
};
map.on('mousemove', show);
map.on('click', show);`;

/**
 * GET /viewer/{id}: a full-page MapLibre GL map of the tileset's style. maplibre-gl and the
 * client module come from this server (node_modules, never a CDN); the client follows the
 * event stream, so the map moves to a new version without a reload and without blank tiles.
 * The current version shows in a corner (`#version`), for people and for tests. The map opens
 * fitted to the tileset's bounds (unless the URL's hash names a view), lists the data layers with
 * their colours (`#layers`) and shows the properties of the features under the pointer (`#inspect`).
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
    const settings = {
      id: source.id,
      version: source.version,
      server: base,
      style: styleUrl(base, source.id),
      client,
      bounds: source.info.bounds,
    };
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(source.info.name)} · tilestamp</title>
<link rel="stylesheet" href="${escapeHtml(css)}">
<style>html,body,#map{margin:0;height:100%}#version,#layers,#inspect{position:absolute;z-index:2;background:#fffd;padding:4px 8px;font:12px/1.4 system-ui,sans-serif;border-radius:4px}#version{top:8px;left:8px}#layers{bottom:28px;left:8px;margin:0;list-style:none}#layers span{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}#inspect{top:8px;right:48px;max-width:320px;max-height:60%;overflow:auto;white-space:pre-wrap}#inspect:empty{display:none}</style>
</head><body><div id="map"></div><div id="version">${escapeHtml(source.id)} <code>${source.version}</code></div><ul id="layers"></ul><div id="inspect"></div>
<script src="${escapeHtml(script)}"></script>
<script type="module">
const settings = ${scriptJson(settings)};
const { followVersions } = await import(settings.client);
// Opens on the data (its bounds) unless the URL names a view.
const view = location.hash ? {} : { bounds: settings.bounds, fitBoundsOptions: { padding: 20, maxZoom: 14 } };
const map = new maplibregl.Map({ container: 'map', style: settings.style, hash: true, ...view });
map.addControl(new maplibregl.NavigationControl());
${INSPECTOR}
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
