import type { Context } from 'koa';
import type { Config } from '../config.ts';
import type { Registry } from '../source/registry.ts';
import type { TileSource } from '../source/tile-source.ts';
import { requestBase } from './lookup.ts';
import { sendDiscovery } from './respond.ts';
import { styleUrl } from './style.ts';
import { tileJsonUrl, tileUrlTemplate } from './tilejson.ts';

function servingSources(registry: Registry): TileSource[] {
  return registry.list().flatMap((entry) => (entry.state === 'ok' ? [entry.source] : []));
}

/** GET /catalog.json: every serving tileset with its version and TileJSON URL. */
export function catalogHandler(registry: Registry, config: Config) {
  return function serveCatalog(ctx: Context): void {
    const base = requestBase(ctx, config);
    const catalog = servingSources(registry).map((source) => ({
      id: source.id,
      name: source.info.name,
      format: source.format,
      version: source.version,
      minzoom: source.info.minzoom,
      maxzoom: source.info.maxzoom,
      tilejson: tileJsonUrl(base, source.id),
      tiles: tileUrlTemplate(base, source),
      style: styleUrl(base, source.id),
    }));
    sendDiscovery(ctx, catalog);
  };
}

/** GET /: a plain HTML page listing each tileset (and the fonts, when `fonts` is given), for people. */
export function indexHandler(registry: Registry, config: Config, fonts?: () => readonly string[]) {
  return function serveIndex(ctx: Context): void {
    const base = requestBase(ctx, config);
    const rows = servingSources(registry).map(
      (s) =>
        `<tr><td><a href="${escapeHtml(tileJsonUrl(base, s.id))}">${escapeHtml(s.id)}</a></td><td>${escapeHtml(s.info.name)}</td>` +
        `<td>${s.format}</td><td>${s.info.minzoom}–${s.info.maxzoom}</td><td><code>${s.version}</code></td>` +
        `<td><a href="${escapeHtml(`${base}/viewer/${s.id}`)}">map</a> · <a href="${escapeHtml(styleUrl(base, s.id))}">style</a></td></tr>`,
    );
    const problems = notServed(registry);
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tilestamp</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body><h1>tilestamp</h1>
<table><thead><tr><th>TileJSON</th><th>name</th><th>format</th><th>zooms</th><th>version</th><th></th></tr></thead>
<tbody>${rows.join('\n') || '<tr><td colspan="6">no tilesets</td></tr>'}</tbody></table>
${problems}${fontList(base, fonts?.() ?? [])}<p><a href="${escapeHtml(base)}/catalog.json">catalog.json</a> · <a href="${escapeHtml(base)}/api/tile-version">api/tile-version</a> · <a href="${escapeHtml(base)}/health">health</a></p>
</body></html>
`;
    sendDiscovery(ctx, html, 'text/html; charset=utf-8');
  };
}

function fontList(base: string, names: readonly string[]): string {
  if (names.length === 0) return '';
  const items = names.map((name) => `<li>${escapeHtml(name)}</li>`).join('');
  return `<h2>Fonts</h2><ul>${items}</ul><p><a href="${escapeHtml(base)}/fonts.json">fonts.json</a></p>\n`;
}

/**
 * The files of the data folder that are not served as they are, and why: failed, waiting or
 * loading tilesets, newer files rejected (an older version serves), and skipped names. Shown on
 * the page people look at, so a broken file is not silent there while /health tells machines.
 */
function notServed(registry: Registry): string {
  const rows: [name: string, state: string, reason: string][] = [];
  for (const entry of registry.list()) {
    if (entry.state === 'failed' || entry.state === 'waiting') rows.push([entry.id, entry.state, entry.reason]);
    else if (entry.state === 'loading') rows.push([entry.id, 'loading', 'its version is being computed']);
    else if (entry.rejected) rows.push([entry.id, 'newer file rejected', `${entry.rejected.reason} (the older version serves)`]);
  }
  for (const skip of registry.skipped) rows.push([skip.name, 'skipped', skip.reason]);
  if (rows.length === 0) return '';
  const cells = rows.map(
    ([name, state, reason]) => `<tr><td>${escapeHtml(name)}</td><td>${escapeHtml(state)}</td><td>${escapeHtml(reason)}</td></tr>`,
  );
  return `<h2>Not served</h2>
<table id="not-served"><thead><tr><th>file</th><th>state</th><th>reason</th></tr></thead>
<tbody>${cells.join('\n')}</tbody></table>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
