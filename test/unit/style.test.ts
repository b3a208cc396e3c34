import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { describe, expect, it } from 'vitest';
import { buildStyle, mbtilesReference, rewriteStyle } from '../../src/http/style.ts';
import type { TileSource, TileSourceInfo } from '../../src/source/tile-source.ts';
import type { TileFormat } from '../../src/storage/tile-format.ts';

const BASE = 'http://127.0.0.1:8080';

function source(id: string, format: TileFormat, info: Partial<TileSourceInfo> = {}): TileSource {
  return {
    id,
    format,
    version: '0123456789abcdef',
    info: { name: id, minzoom: 0, maxzoom: 5, bounds: [-180, -85, 180, 85], center: [10, 20, 2], ...info },
    getTile: () => undefined,
    intact: () => true,
    close: () => {},
  };
}

const layer = (id: string, extra: Record<string, unknown> = {}) => ({ id, fields: {}, ...extra });
const stats = (entries: [string, string][]) => ({ layers: entries.map(([l, geometry]) => ({ layer: l, geometry })) });
type Layer = { id: string; type: string; 'source-layer'?: string; filter?: unknown; minzoom?: number };

describe('buildStyle', () => {
  it.each([
    ['polygons (tilestats)', [layer('countries')], stats([['countries', 'Polygon']]), ['countries-fill', 'countries-outline']],
    ['lines (tilestats)', [layer('roads')], stats([['roads', 'LineString']]), ['roads-line']],
    ['points (tilestats)', [layer('cities')], stats([['cities', 'Point']]), ['cities-circle']],
    [
      'unknown geometry: all three, filtered',
      [layer('misc')],
      undefined,
      ['misc-fill', 'misc-outline', 'misc-line', 'misc-circle'],
    ],
    [
      'two layers, one known',
      [layer('water'), layer('places')],
      stats([['places', 'Point']]),
      ['water-fill', 'water-outline', 'water-line', 'water-circle', 'places-circle'],
    ],
    ['no vector_layers at all', [], undefined, []],
  ])('draws a vector tileset with %s', (_, vectorLayers, tilestats, ids) => {
    const style = buildStyle(BASE, source('v', 'pbf', { vectorLayers, tilestats })) as { layers: Layer[] };
    expect(validateStyleMin(style as never)).toEqual([]);
    expect(style.layers.map((l) => l.id)).toEqual(['background', ...ids]);
    const known = new Set(tilestats?.layers.map((l) => l.layer));
    const drawn = { fill: 'Polygon', outline: 'Polygon', line: 'LineString', circle: 'Point' } as Record<string, string>;
    for (const l of style.layers.slice(1)) {
      const sourceLayer = l.id.slice(0, l.id.lastIndexOf('-'));
      expect(l['source-layer']).toBe(sourceLayer);
      // Only a layer whose geometry tilestats does not name needs a geometry filter.
      expect(l.filter).toEqual(known.has(sourceLayer) ? undefined : ['==', '$type', drawn[l.id.slice(sourceLayer.length + 1)]]);
    }
  });

  it('names the versioned tile URL, the zooms, bounds, centre and attribution', () => {
    const style = buildStyle(BASE, source('eu/roads', 'pbf', { attribution: '© OSM', maxzoom: 14 })) as Record<string, never>;
    expect(style.sources).toEqual({
      'eu/roads': {
        type: 'vector',
        tiles: [`${BASE}/tiles/eu/roads/{z}/{x}/{y}.pbf?v=0123456789abcdef`],
        minzoom: 0,
        maxzoom: 14,
        bounds: [-180, -85, 180, 85],
        attribution: '© OSM',
      },
    });
    expect(style).toMatchObject({ version: 8, center: [10, 20], zoom: 2, metadata: { 'tilestamp:version': '0123456789abcdef' } });
  });

  it.each([
    ['png', 256, 256],
    ['webp', 512, 512],
    ['jpg', undefined, 256],
  ] as const)('draws a %s raster with its tile size (%s → %s)', (format, tileSize, expected) => {
    const style = buildStyle(BASE, source('r', format, tileSize === undefined ? {} : { tileSize })) as {
      sources: unknown;
      layers: Layer[];
    };
    expect(validateStyleMin(style as never)).toEqual([]);
    expect(style.sources).toMatchObject({
      r: { type: 'raster', tileSize: expected, tiles: [expect.stringContaining(`.${format}?v=`)] },
    });
    expect(style.layers.map((l) => [l.id, l.type])).toEqual([
      ['background', 'background'],
      ['r-raster', 'raster'],
    ]);
  });

  it('gives every layer a unique id: a raster tileset named background, a vector layer listed twice', () => {
    const raster = buildStyle(BASE, source('background', 'png')) as { layers: Layer[] };
    const twice = buildStyle(
      BASE,
      source('v', 'pbf', { vectorLayers: [layer('roads'), layer('roads')], tilestats: stats([['roads', 'LineString']]) }),
    ) as { layers: Layer[] };
    for (const style of [raster, twice]) {
      expect(validateStyleMin(style as never)).toEqual([]);
      expect(new Set(style.layers.map((l) => l.id)).size).toBe(style.layers.length);
    }
    expect(twice.layers.map((l) => l.id)).toEqual(['background', 'roads-line']);
  });

  it('ignores a minzoom the metadata gives as text or out of range', () => {
    const style = buildStyle(
      BASE,
      source('v', 'pbf', {
        vectorLayers: [layer('a', { minzoom: '5' }), layer('b', { minzoom: 99 })],
        tilestats: stats([
          ['a', 'Point'],
          ['b', 'Point'],
        ]),
      }),
    ) as { layers: Layer[] };
    expect(validateStyleMin(style as never)).toEqual([]);
    expect(style.layers.map((l) => l.minzoom)).toEqual([undefined, undefined, undefined]);
  });

  it('starts a layer at its own minzoom only when it is above the tileset minzoom', () => {
    const style = buildStyle(
      BASE,
      source('v', 'pbf', {
        minzoom: 2,
        vectorLayers: [layer('a', { minzoom: 2 }), layer('b', { minzoom: 6, maxzoom: 8 })],
        tilestats: stats([
          ['a', 'Point'],
          ['b', 'Point'],
        ]),
      }),
    ) as { layers: Layer[] };
    expect(style.layers.map((l) => [l.id, l.minzoom])).toEqual([
      ['background', undefined],
      ['a-circle', undefined],
      ['b-circle', 6],
    ]);
  });
});

describe('mbtilesReference', () => {
  it.each([
    ['mbtiles://roads', 'roads'],
    ['mbtiles://{roads}', 'roads'],
    ['mbtiles://eu/roads', 'eu/roads'],
    ['mbtiles://{eu/roads}', 'eu/roads'],
    ['mbtiles://', undefined],
    ['mbtiles://{roads', undefined],
    ['https://example.org/roads.json', undefined],
    [undefined, undefined],
    [42, undefined],
  ])('%s → %s', (url, id) => {
    expect(mbtilesReference(url)).toBe(id);
  });
});

describe('rewriteStyle', () => {
  const served = { roads: source('roads', 'pbf'), sat: source('sat', 'jpg', { tileSize: 512 }) };
  const lookup = (id: string) => served[id as keyof typeof served];
  const user = {
    version: 8,
    glyphs: 'https://fonts.example.org/{fontstack}/{range}.pbf',
    sources: {
      streets: { type: 'vector', url: 'mbtiles://{roads}', maxzoom: 16 },
      imagery: { type: 'raster', url: 'mbtiles://sat' },
      later: { type: 'vector', url: 'mbtiles://not-yet' },
      elsewhere: { type: 'raster', tiles: ['https://tiles.example.org/{z}/{x}/{y}.png'], tileSize: 256 },
    },
    layers: [{ id: 'bg', type: 'background' }],
  };

  it('inlines the versioned tiles of serving tilesets, keeps the style’s own settings and everything else', () => {
    const before = structuredClone(user);
    const { style, unresolved } = rewriteStyle(user, BASE, lookup);
    expect(user).toEqual(before);
    expect(unresolved).toEqual(['not-yet']);
    expect(style.glyphs).toBe(user.glyphs);
    expect(style.layers).toBe(user.layers);
    expect(style.sources).toEqual({
      streets: {
        type: 'vector',
        tiles: [`${BASE}/tiles/roads/{z}/{x}/{y}.pbf?v=0123456789abcdef`],
        minzoom: 0,
        maxzoom: 16,
        bounds: [-180, -85, 180, 85],
      },
      imagery: {
        type: 'raster',
        tiles: [`${BASE}/tiles/sat/{z}/{x}/{y}.jpg?v=0123456789abcdef`],
        minzoom: 0,
        maxzoom: 5,
        bounds: [-180, -85, 180, 85],
        tileSize: 512,
      },
      later: { type: 'vector', url: `${BASE}/tiles/not-yet.json` },
      elsewhere: user.sources.elsewhere,
    });
    expect(validateStyleMin(style as never)).toEqual([]);
  });

  it.each([
    ['no sources', { version: 8, layers: [] }],
    ['sources that is not an object', { version: 8, sources: [1, 2], layers: [] }],
  ])('passes a style with %s through unchanged', (_, style) => {
    expect(rewriteStyle(style, BASE, lookup)).toEqual({ style, unresolved: [] });
  });
});
