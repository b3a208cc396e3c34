import type { TileSource } from '../source/tile-source.ts';
import { formatKind, urlExtension } from '../storage/tile-format.ts';
import { hashManifestTemplate } from './hash-manifest-routes.ts';

/** The URL template of a tileset's tiles, versioned: `{base}/tiles/{id}/{z}/{x}/{y}.{ext}?v={version}`. */
export function tileUrlTemplate(base: string, source: TileSource): string {
  return `${base}/tiles/${source.id}/{z}/{x}/{y}.${urlExtension(source.format)}?v=${source.version}`;
}

/** The TileJSON URL of a tileset. */
export function tileJsonUrl(base: string, id: string): string {
  return `${base}/tiles/${id}.json`;
}

/** TileJSON 3.0.0 for a tileset. `vector_layers` is required for vector tilesets by the spec. */
export function buildTileJson(base: string, source: TileSource): Record<string, unknown> {
  const { info } = source;
  const vector = formatKind(source.format) === 'vector';
  return {
    tilejson: '3.0.0',
    name: info.name,
    ...(info.description !== undefined && { description: info.description }),
    ...(info.attribution !== undefined && { attribution: info.attribution }),
    scheme: 'xyz',
    tiles: [tileUrlTemplate(base, source)],
    minzoom: info.minzoom,
    maxzoom: info.maxzoom,
    bounds: info.bounds,
    center: info.center,
    format: source.format,
    ...(vector && { vector_layers: info.vectorLayers ?? [] }),
    ...(info.tilestats !== undefined && { tilestats: info.tilestats }),
    // An extension key (TileJSON allows them): where tilestamp.js finds each block's tile hashes.
    tilestamp: { hashes: hashManifestTemplate(base, source) },
  };
}
