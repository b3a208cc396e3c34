import type { TileSource } from '../source/tile-source.ts';
import { formatKind } from '../storage/tile-format.ts';
import { isAbsoluteUrl, labelLayer, rewriteSprite, type StyleResources } from './style-labels.ts';
import { tileJsonUrl, tileUrlTemplate } from './tilejson.ts';

/** The style URL of a tileset (or of a user style of that name). */
export function styleUrl(base: string, id: string): string {
  return `${base}/styles/${id}.json`;
}

/**
 * A MapLibre style source for a tileset with its versioned tile URLs inline, so the style itself
 * names the version (its ETag changes with the data) and the map needs no TileJSON round trip.
 */
export function styleSource(base: string, source: TileSource): Record<string, unknown> {
  const { info } = source;
  const raster = formatKind(source.format) === 'raster';
  return {
    type: raster ? 'raster' : 'vector',
    tiles: [tileUrlTemplate(base, source)],
    minzoom: info.minzoom,
    maxzoom: info.maxzoom,
    bounds: info.bounds,
    ...(info.attribution !== undefined && { attribution: info.attribution }),
    // MapLibre takes raster tiles as 512 px unless told; MBTiles rasters are mostly 256.
    ...(raster && { tileSize: info.tileSize ?? 256 }),
  };
}

type Geometry = 'Point' | 'LineString' | 'Polygon';
const GEOMETRIES: readonly Geometry[] = ['Polygon', 'LineString', 'Point'];

/** The geometry tilestats (tippecanoe, mapbox-geostats) records for a layer, when it does. */
function statedGeometry(tilestats: unknown, layer: string): Geometry | undefined {
  const layers = (tilestats as { layers?: unknown } | undefined)?.layers;
  if (!Array.isArray(layers)) return undefined;
  const found = layers.find((l) => (l as { layer?: unknown })?.layer === layer) as { geometry?: unknown } | undefined;
  return GEOMETRIES.find((g) => g === found?.geometry);
}

/** How each geometry is drawn: the layers (id suffix, type) and their paint in a given colour. */
const DRAWN_AS: Record<Geometry, { suffix: string; type: string; paint: (color: string) => Record<string, unknown> }[]> = {
  Polygon: [
    { suffix: 'fill', type: 'fill', paint: (c) => ({ 'fill-color': c, 'fill-opacity': 0.35 }) },
    { suffix: 'outline', type: 'line', paint: (c) => ({ 'line-color': c, 'line-width': 0.8 }) },
  ],
  LineString: [{ suffix: 'line', type: 'line', paint: (c) => ({ 'line-color': c, 'line-width': 1.2 }) }],
  Point: [
    {
      suffix: 'circle',
      type: 'circle',
      paint: (c) => ({ 'circle-color': c, 'circle-radius': 3, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 }),
    },
  ],
};

/** The layers that draw one vector layer; filtered by the legacy `$type` when its geometry is unknown. */
function drawLayers(
  sourceId: string,
  layer: string,
  index: number,
  geometry: Geometry | undefined,
  zooms: object,
): Record<string, unknown>[] {
  const color = `hsl(${(index * 137) % 360}, 60%, 42%)`;
  return (geometry === undefined ? GEOMETRIES : [geometry]).flatMap((g) =>
    DRAWN_AS[g].map(({ suffix, type, paint }) => ({
      id: `${layer}-${suffix}`,
      type,
      source: sourceId,
      'source-layer': layer,
      ...zooms,
      ...(geometry === undefined && { filter: ['==', '$type', g] }),
      paint: paint(color),
    })),
  );
}

/**
 * A MapLibre style (v8) that shows a tileset: a raster layer, or for vector tiles one set of
 * layers per vector layer (fill and outline, line, or circle, by the geometry tilestats names;
 * all three, filtered by geometry type, when it names none), and above them labels for points
 * and polygons with a name-like property, when `resources` names this server's glyphs and a
 * font. Nothing the style needs lies outside this server.
 */
export function buildStyle(base: string, source: TileSource, resources: StyleResources = {}): Record<string, unknown> {
  const { info } = source;
  const raster = formatKind(source.format) === 'raster';
  const layers: Record<string, unknown>[] = [{ id: 'background', type: 'background', paint: { 'background-color': '#f4f2ee' } }];
  // Layer ids must be unique: `{tileset}-raster` cannot meet `background`, and a vector layer
  // listed twice in the metadata is drawn once.
  if (raster) layers.push({ id: `${source.id}-raster`, type: 'raster', source: source.id });
  else {
    const ids = [...new Set((info.vectorLayers ?? []).map((layer) => layer.id))];
    const labels: { point: boolean; layer: Record<string, unknown> }[] = [];
    ids.forEach((layerId, index) => {
      const vectorLayer = info.vectorLayers?.find((layer) => layer.id === layerId);
      const minzoom = vectorLayer?.minzoom;
      // No maxzoom: past the layer's last zoom the map overzooms its tiles.
      const zooms = typeof minzoom === 'number' && minzoom > info.minzoom && minzoom <= 24 ? { minzoom } : {};
      const geometry = statedGeometry(info.tilestats, layerId);
      layers.push(...drawLayers(source.id, layerId, index, geometry, zooms));
      const label = labelLayer(source.id, layerId, geometry, vectorLayer?.fields, zooms, resources);
      if (label !== undefined) labels.push({ point: geometry === 'Point', layer: label });
    });
    // Labels above every layer that draws; points' labels last, so they win over polygons'.
    layers.push(...labels.filter((l) => !l.point).map((l) => l.layer), ...labels.filter((l) => l.point).map((l) => l.layer));
  }
  return {
    version: 8,
    name: info.name,
    metadata: { 'tilestamp:version': source.version },
    center: [info.center[0], info.center[1]],
    zoom: info.center[2],
    ...(!raster && resources.glyphs !== undefined && { glyphs: resources.glyphs }),
    ...(!raster && resources.sprite !== undefined && resources.pointIcon !== undefined && { sprite: resources.sprite }),
    sources: { [source.id]: styleSource(base, source) },
    layers,
  };
}

/** `mbtiles://roads` or tileserver-gl's `mbtiles://{roads}`: the tileset id, else undefined. */
export function mbtilesReference(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  const match = /^mbtiles:\/\/(?:\{([^{}]+)\}|([^{}]+))$/.exec(url);
  return match?.[1] ?? match?.[2];
}

/**
 * A user style with every `mbtiles://{id}` source pointed at this server: a serving tileset's
 * versioned tiles go inline (the style's own settings win over the tileset's, `url` goes); a
 * tileset not serving now keeps a TileJSON URL, and is named in `unresolved`. A `glyphs` value
 * that is not an absolute URL (tileserver-gl's `{fontstack}/{range}.pbf`, say) becomes this
 * server's versioned glyphs URL when `resources` names one; a `sprite` naming sprite folders
 * becomes their versioned sprite URL (rewriteSprite). Other sources, layers, absolute glyphs
 * and sprites pass through untouched. Pure: the input is not changed.
 */
export function rewriteStyle(
  input: Record<string, unknown>,
  base: string,
  lookup: (id: string) => TileSource | undefined,
  resources: StyleResources = {},
): { style: Record<string, unknown>; unresolved: string[] } {
  const unresolved: string[] = [];
  const style = { ...input };
  if (typeof input.glyphs === 'string' && !isAbsoluteUrl(input.glyphs) && resources.glyphs !== undefined) {
    style.glyphs = resources.glyphs;
  }
  if (input.sprite !== undefined) style.sprite = rewriteSprite(input.sprite, resources);
  const sources = style.sources;
  if (typeof sources !== 'object' || sources === null || Array.isArray(sources)) return { style, unresolved };
  // Null prototype: a source named `__proto__` is kept as a source, not taken as a prototype.
  const rewritten: Record<string, unknown> = Object.create(null);
  for (const [name, value] of Object.entries(sources)) {
    const { url, ...rest } = (value ?? {}) as Record<string, unknown>;
    const id = mbtilesReference(url);
    if (id === undefined) {
      rewritten[name] = value;
      continue;
    }
    const source = lookup(id);
    if (source === undefined) {
      unresolved.push(id);
      rewritten[name] = { ...rest, url: tileJsonUrl(base, id) };
    } else {
      rewritten[name] = { ...styleSource(base, source), ...rest };
    }
  }
  return { style: { ...style, sources: rewritten }, unresolved };
}
