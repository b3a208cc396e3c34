import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { describe, expect, it } from 'vitest';
import { buildStyle, rewriteStyle } from '../../src/http/style.ts';
import { nameField, type StyleResources } from '../../src/http/style-labels.ts';
import type { TileSource, TileSourceInfo } from '../../src/source/tile-source.ts';

const BASE = 'http://127.0.0.1:8080';
const RESOURCES: StyleResources = {
  glyphs: `${BASE}/fonts/{fontstack}/{range}.pbf?v=00ff00ff00ff00ff`,
  font: 'Noto Sans Regular',
};

function vectorSource(layers: { id: string; fields: Record<string, string> }[], geometries?: Record<string, string>): TileSource {
  const info: TileSourceInfo = {
    name: 'v',
    minzoom: 0,
    maxzoom: 5,
    bounds: [-180, -85, 180, 85],
    center: [10, 20, 2],
    vectorLayers: layers,
    ...(geometries && { tilestats: { layers: Object.entries(geometries).map(([layer, geometry]) => ({ layer, geometry })) } }),
  };
  return {
    id: 'v',
    format: 'pbf',
    version: '0123456789abcdef',
    info,
    getTile: () => undefined,
    intact: () => true,
    close: () => {},
  };
}

type Layer = { id: string; type: string; filter?: unknown; layout?: Record<string, unknown> };

describe('labels in generated styles', () => {
  const source = vectorSource(
    [
      { id: 'countries', fields: { id: 'String', name: 'String' } },
      { id: 'places', fields: { NAME: 'String', pop: 'Number' } },
      { id: 'roads', fields: { name: 'String' } },
      { id: 'misc', fields: { name_en: 'String' } },
      { id: 'nameless', fields: { id: 'String' } },
    ],
    { countries: 'Polygon', places: 'Point', roads: 'LineString', nameless: 'Point' },
  );

  it('label points and polygons with a name-like property, in the given font, above everything, points last', () => {
    const style = buildStyle(BASE, source, RESOURCES) as { glyphs: string; layers: Layer[] };
    expect(style.glyphs).toBe(RESOURCES.glyphs);
    const symbols = style.layers.filter((l) => l.type === 'symbol');
    expect(symbols.map((l) => l.id)).toEqual(['countries-label', 'misc-label', 'places-label']);
    expect(style.layers.slice(-3)).toEqual(symbols);
    expect(symbols[0]?.layout?.['text-field']).toEqual(['to-string', ['get', 'name']]);
    expect(symbols[2]?.layout?.['text-field']).toEqual(['to-string', ['get', 'NAME']]);
    expect(symbols.every((l) => JSON.stringify(l.layout?.['text-font']) === '["Noto Sans Regular"]')).toBe(true);
    // Unknown geometry: lines are kept out by a filter.
    expect(symbols[1]?.filter).toEqual(['in', '$type', 'Point', 'Polygon']);
    expect(validateStyleMin(style as never)).toEqual([]);
  });

  it('are left out, with the glyphs, when no font is loaded', () => {
    const style = buildStyle(BASE, source) as { glyphs?: string; layers: Layer[] };
    expect(style.glyphs).toBeUndefined();
    expect(style.layers.some((l) => l.type === 'symbol')).toBe(false);
    expect(validateStyleMin(style as never)).toEqual([]);
  });

  it.each([
    [{ name: 'String' }, 'name'],
    [{ NAME: 'String', name_en: 'String' }, 'name_en'],
    [{ Name: 'String' }, 'Name'],
    [{ label: 'String' }, undefined],
    [{ ['__proto__']: 'String' }, undefined],
  ])('name-like property of %j: %s', (fields, field) => {
    expect(nameField(fields)).toBe(field);
  });
});

describe('glyphs in user styles', () => {
  const user = (glyphs: unknown) => ({
    version: 8,
    glyphs,
    sources: { v: { type: 'vector', url: 'mbtiles://v' } },
    layers: [
      {
        id: 'l',
        type: 'symbol',
        source: 'v',
        'source-layer': 'places',
        layout: { 'text-field': 'x', 'text-font': ['Noto Sans Regular'] },
      },
    ],
  });
  const lookup = () => vectorSource([{ id: 'places', fields: {} }]);

  it.each(['{fontstack}/{range}.pbf', 'fonts/{fontstack}/{range}.pbf', '/fonts/{fontstack}/{range}.pbf'])(
    "a relative %s becomes this server's versioned glyphs URL",
    (glyphs) => {
      const { style } = rewriteStyle(user(glyphs), BASE, lookup, RESOURCES);
      expect(style.glyphs).toBe(RESOURCES.glyphs);
      expect(validateStyleMin(style as never)).toEqual([]);
    },
  );

  it('an absolute URL passes through', () => {
    const glyphs = 'https://fonts.example.com/{fontstack}/{range}.pbf';
    const { style } = rewriteStyle(user(glyphs), BASE, lookup, RESOURCES);
    expect(style.glyphs).toBe(glyphs);
    expect(validateStyleMin(style as never)).toEqual([]);
  });

  it('a relative one stays as it is when no font is loaded', () => {
    expect(rewriteStyle(user('{fontstack}/{range}.pbf'), BASE, lookup, {}).style.glyphs).toBe('{fontstack}/{range}.pbf');
  });
});
