import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../../src/storage/metadata.ts';

type Row = { name: unknown; value: unknown };

const rows = (pairs: Record<string, unknown>): Row[] => Object.entries(pairs).map(([name, value]) => ({ name, value }));

/** What tippecanoe 2.x writes for a small vector tileset. */
const TIPPECANOE_JSON = JSON.stringify({
  vector_layers: [
    { id: 'countries', description: '', minzoom: 0, maxzoom: 5, fields: { name: 'String', pop: 'Number' } },
    { id: 'cities', description: 'Populated places', minzoom: 2, maxzoom: 5, fields: {} },
  ],
  tilestats: { layerCount: 2, layers: [{ layer: 'countries', count: 177, geometry: 'Polygon' }] },
});

const TIPPECANOE_ROWS = rows({
  name: 'countries.mbtiles',
  description: 'Natural Earth countries',
  version: '2',
  minzoom: '0',
  maxzoom: '5',
  center: '11.250000,48.922499,5',
  bounds: '-180.000000,-85.051129,180.000000,83.645130',
  type: 'overlay',
  format: 'pbf',
  attribution: '<a href="https://www.naturalearthdata.com/">Natural Earth</a>',
  generator: 'tippecanoe v2.53.0',
  generator_options: 'tippecanoe -o countries.mbtiles -z5 countries.geojson',
  antimeridian_adjusted_bounds: '-180.000000,-85.051129,180.000000,83.645130',
  strategies: '[{},{},{},{},{},{"tiny_polygons":3}]',
  agg_tiles_hash: '3ac0b3f7d2a1c8e4',
  json: TIPPECANOE_JSON,
});

describe('parseMetadata: a full tippecanoe file', () => {
  const meta = parseMetadata(TIPPECANOE_ROWS);

  it('reads the MBTiles 1.3 keys with their types', () => {
    expect(meta).toMatchObject({
      name: 'countries.mbtiles',
      description: 'Natural Earth countries',
      attribution: '<a href="https://www.naturalearthdata.com/">Natural Earth</a>',
      format: 'pbf',
      minzoom: 0,
      maxzoom: 5,
      bounds: [-180, -85.051129, 180, 83.64513],
      center: [11.25, 48.922499],
      centerZoom: 5,
    });
  });

  it('reads vector_layers and tilestats from the json row', () => {
    expect(meta.vectorLayers).toEqual([
      { id: 'countries', description: '', minzoom: 0, maxzoom: 5, fields: { name: 'String', pop: 'Number' } },
      { id: 'cities', description: 'Populated places', minzoom: 2, maxzoom: 5, fields: {} },
    ]);
    expect(meta.tilestats).toEqual({ layerCount: 2, layers: [{ layer: 'countries', count: 177, geometry: 'Polygon' }] });
  });

  it('keeps every row verbatim in values, known keys included', () => {
    expect(meta.values).toEqual(Object.fromEntries(TIPPECANOE_ROWS.map((r) => [r.name, r.value])));
    expect(meta.values.agg_tiles_hash).toBe('3ac0b3f7d2a1c8e4');
  });

  it('has no warnings', () => {
    expect(meta.warnings).toEqual([]);
  });
});

describe('parseMetadata: absent and empty values', () => {
  it('an empty table gives an empty result without warnings', () => {
    expect(parseMetadata([])).toEqual({
      values: {},
      warnings: [],
      minzoom: undefined,
      maxzoom: undefined,
      bounds: undefined,
    });
  });

  it.each([
    ['NULL values', rows({ name: null, description: null, minzoom: null, bounds: null, center: null, json: null, extra1: null })],
    ['undefined values', rows({ name: undefined, format: undefined, maxzoom: undefined })],
    ['whitespace-only text', rows({ name: '   ', description: '', attribution: '\t', format: ' ', minzoom: ' ', maxzoom: '' })],
    [
      'rows whose name is not text',
      [
        { name: 42, value: 'x' },
        { name: null, value: 'y' },
        { name: Buffer.from('name'), value: 'z' },
      ],
    ],
  ])('%s are ignored silently', (_name, input) => {
    const meta = parseMetadata(input);
    expect(meta.name).toBeUndefined();
    expect(meta.description).toBeUndefined();
    expect(meta.attribution).toBeUndefined();
    expect(meta.format).toBeUndefined();
    expect(meta.minzoom).toBeUndefined();
    expect(meta.maxzoom).toBeUndefined();
    expect(meta.bounds).toBeUndefined();
    expect(meta.center).toBeUndefined();
    expect(meta.vectorLayers).toBeUndefined();
    expect(meta.warnings).toEqual([]);
  });

  it('trims the text keys', () => {
    expect(parseMetadata(rows({ name: '  Roads \n', format: ' png ' }))).toMatchObject({ name: 'Roads', format: 'png' });
  });

  it('keeps format exactly as spelled (apart from surrounding space)', () => {
    expect(parseMetadata(rows({ format: 'image/PNG' })).format).toBe('image/PNG');
  });

  it('turns numeric SQLite values into numbers and text alike', () => {
    const meta = parseMetadata(rows({ minzoom: 2, maxzoom: 14, version: 3 }));
    expect(meta).toMatchObject({ minzoom: 2, maxzoom: 14, values: { minzoom: '2', maxzoom: '14', version: '3' } });
  });

  it('lets a later duplicate row win', () => {
    expect(parseMetadata([...rows({ name: 'first' }), ...rows({ name: 'second' })]).name).toBe('second');
  });
});

describe('parseMetadata: minzoom and maxzoom', () => {
  it.each([
    ['0', 0],
    ['5', 5],
    ['30', 30],
    [' 7 ', 7],
    ['7.0', 7],
  ])('minzoom %j → %i', (text, zoom) => {
    const meta = parseMetadata(rows({ minzoom: text }));
    expect(meta.minzoom).toBe(zoom);
    expect(meta.warnings).toEqual([]);
  });

  it.each([['abc'], ['-1'], ['31'], ['100'], ['2.5'], ['NaN'], ['Infinity'], ['1,2']])(
    'minzoom %j is dropped with a warning naming it',
    (text) => {
      const meta = parseMetadata(rows({ minzoom: text }));
      expect(meta.minzoom).toBeUndefined();
      expect(meta.warnings).toHaveLength(1);
      expect(meta.warnings[0]).toContain('minzoom');
      expect(meta.warnings[0]).toContain(JSON.stringify(text));
    },
  );

  it.each([['abc'], ['-1'], ['31'], ['0.5']])('maxzoom %j is dropped with a warning naming it', (text) => {
    const meta = parseMetadata(rows({ minzoom: '0', maxzoom: text }));
    expect(meta.minzoom).toBe(0);
    expect(meta.maxzoom).toBeUndefined();
    expect(meta.warnings).toHaveLength(1);
    expect(meta.warnings[0]).toContain('maxzoom');
  });

  it('drops both when minzoom is above maxzoom, with one warning', () => {
    const meta = parseMetadata(rows({ minzoom: '10', maxzoom: '4' }));
    expect(meta.minzoom).toBeUndefined();
    expect(meta.maxzoom).toBeUndefined();
    expect(meta.warnings).toHaveLength(1);
    expect(meta.warnings[0]).toMatch(/minzoom 10.*maxzoom 4/);
  });

  it('accepts minzoom equal to maxzoom', () => {
    const meta = parseMetadata(rows({ minzoom: '6', maxzoom: '6' }));
    expect(meta).toMatchObject({ minzoom: 6, maxzoom: 6, warnings: [] });
  });

  it('keeps a good maxzoom when minzoom alone is bad', () => {
    const meta = parseMetadata(rows({ minzoom: 'x', maxzoom: '12' }));
    expect(meta.minzoom).toBeUndefined();
    expect(meta.maxzoom).toBe(12);
    expect(meta.warnings).toHaveLength(1);
  });
});

describe('parseMetadata: bounds', () => {
  it.each<[string, [number, number, number, number]]>([
    ['-180,-85.051129,180,85.051129', [-180, -85.051129, 180, 85.051129]],
    ['-180,-90,180,90', [-180, -90, 180, 90]],
    ['5.9, 45.8, 10.5, 47.8', [5.9, 45.8, 10.5, 47.8]],
    ['-0.5,51.2,0.3,51.7', [-0.5, 51.2, 0.3, 51.7]],
  ])('%j → %j', (text, bounds) => {
    const meta = parseMetadata(rows({ bounds: text }));
    expect(meta.bounds).toEqual(bounds);
    expect(meta.warnings).toEqual([]);
  });

  it.each([
    ['three numbers', '-180,-85,180'],
    ['five numbers', '-180,-85,180,85,0'],
    ['an empty part', '-180,,180,85'],
    ['a trailing comma', '-180,-85,180,85,'],
    ['text', 'world'],
    ['a word among numbers', '-180,south,180,85'],
    ['space-separated', '-180 -85 180 85'],
    ['empty', ''],
    ['west below -180', '-181,-85,180,85'],
    ['east above 180', '-180,-85,181,85'],
    ['south below -90', '-180,-91,180,85'],
    ['north above 90', '-180,-85,180,91'],
    ['south above north', '-180,50,180,40'],
    ['infinite', '-Infinity,-85,180,85'],
    ['overflowing', '-1e999,-85,180,85'],
    ['lat/lon order swapped', '-85,-180,85,180'],
  ])('%s (%j) is dropped with a warning', (_name, text) => {
    const meta = parseMetadata(rows({ bounds: text }));
    expect(meta.bounds).toBeUndefined();
    expect(meta.warnings).toHaveLength(1);
    expect(meta.warnings[0]).toContain('bounds');
    expect(meta.warnings[0]).toContain(JSON.stringify(text));
  });
});

describe('parseMetadata: center', () => {
  it.each<[string, [number, number], number | undefined]>([
    ['11.25,48.92,5', [11.25, 48.92], 5],
    ['11.25,48.92', [11.25, 48.92], undefined],
    [' -73.98 , 40.75 , 12 ', [-73.98, 40.75], 12],
    ['0,0,0', [0, 0], 0],
    ['-180,-90,30', [-180, -90], 30],
    ['180,90', [180, 90], undefined],
  ])('%j → center %j, zoom %s', (text, center, zoom) => {
    const meta = parseMetadata(rows({ center: text }));
    expect(meta.center).toEqual(center);
    expect(meta.centerZoom).toBe(zoom);
    expect(meta.warnings).toEqual([]);
  });

  it.each([
    ['one number', '11.25'],
    ['four numbers', '1,2,3,4'],
    ['text', 'Paris'],
    ['longitude out of range', '181,0,3'],
    ['latitude out of range', '0,-91'],
    ['an empty part', '1,,3'],
    ['empty', ''],
  ])('%s (%j) is dropped with a warning', (_name, text) => {
    const meta = parseMetadata(rows({ center: text }));
    expect(meta.center).toBeUndefined();
    expect(meta.centerZoom).toBeUndefined();
    expect(meta.warnings).toHaveLength(1);
    expect(meta.warnings[0]).toContain('center');
  });

  it.each([
    ['fractional', '2,3,4.5'],
    ['negative', '2,3,-1'],
    ['too deep', '2,3,31'],
  ])('a %s zoom keeps the point but not the zoom', (_name, text) => {
    const meta = parseMetadata(rows({ center: text }));
    expect(meta.center).toEqual([2, 3]);
    expect(meta.centerZoom).toBeUndefined();
  });

  it.each([['2,3,4.5'], ['2,3,99']])('an unusable center zoom in %j is warned about', (text) => {
    expect(parseMetadata(rows({ center: text })).warnings).toHaveLength(1);
  });
});

describe('parseMetadata: the json row', () => {
  it('warns about invalid JSON and leaves layers undefined', () => {
    const meta = parseMetadata(rows({ json: '{"vector_layers": [' }));
    expect(meta.vectorLayers).toBeUndefined();
    expect(meta.tilestats).toBeUndefined();
    expect(meta.warnings).toEqual(['the json row is not valid JSON; ignored']);
  });

  it.each([['null'], ['42'], ['"text"'], ['[]'], ['{}'], ['{"other":1}']])(
    'JSON without layers (%s) gives no layers and no warning',
    (json) => {
      const meta = parseMetadata(rows({ json }));
      expect(meta.vectorLayers).toBeUndefined();
      expect(meta.warnings).toEqual([]);
    },
  );

  it('drops vector_layers entries without a string id, with one warning', () => {
    const json = JSON.stringify({
      vector_layers: [{ id: 'roads', fields: { class: 'String' } }, { fields: {} }, { id: 7 }, null, 'water', { id: 'water' }],
    });
    const meta = parseMetadata(rows({ json }));
    expect(meta.vectorLayers).toEqual([
      { id: 'roads', fields: { class: 'String' } },
      { id: 'water', fields: {} },
    ]);
    expect(meta.warnings).toEqual(['some vector_layers entries have no string id; dropped']);
  });

  it('gives fields {} when a layer has none or fields that are not name → type text', () => {
    const json = JSON.stringify({
      vector_layers: [
        { id: 'a' },
        { id: 'b', fields: ['name'] },
        { id: 'c', fields: { name: 1 } },
        { id: 'd', fields: 'name' },
        { id: 'e', fields: { name: 'String' } },
      ],
    });
    const layers = parseMetadata(rows({ json })).vectorLayers;
    expect(layers?.map((l) => [l.id, l.fields])).toEqual([
      ['a', {}],
      ['b', {}],
      ['c', {}],
      ['d', {}],
      ['e', { name: 'String' }],
    ]);
  });

  it('keeps an empty vector_layers list as an empty list', () => {
    expect(parseMetadata(rows({ json: '{"vector_layers":[]}' })).vectorLayers).toEqual([]);
  });

  it('keeps unknown layer properties', () => {
    const json = JSON.stringify({ vector_layers: [{ id: 'a', fields: {}, source: 'osm' }] });
    expect(parseMetadata(rows({ json })).vectorLayers).toEqual([{ id: 'a', fields: {}, source: 'osm' }]);
  });
});

describe('parseMetadata: several problems at once', () => {
  it('reports each bad value once and keeps the good ones', () => {
    const meta = parseMetadata(
      rows({ name: 'ok', minzoom: 'low', maxzoom: '40', bounds: '1,2,3', center: 'x', json: '{', agg_tiles_hash: 'abc' }),
    );
    expect(meta.name).toBe('ok');
    expect(meta.values.agg_tiles_hash).toBe('abc');
    expect(meta.warnings).toHaveLength(5);
    for (const key of ['minzoom', 'maxzoom', 'bounds', 'center', 'json']) {
      expect(meta.warnings.some((w) => w.includes(key))).toBe(true);
    }
  });
});

describe('bounds of one point', () => {
  it('are kept: TileJSON allows west = east and south = north', () => {
    const meta = parseMetadata(rows({ bounds: '-122.34,47.65,-122.34,47.65' }));
    expect(meta.bounds).toEqual([-122.34, 47.65, -122.34, 47.65]);
    expect(meta.warnings).toEqual([]);
  });
});

describe('zoom text', () => {
  it.each([['0x10'], ['1e1'], ['+3'], ['3.5']])('minzoom %j is not a plain whole number: ignored with a warning', (text) => {
    const meta = parseMetadata([{ name: 'minzoom', value: text }]);
    expect(meta.minzoom).toBeUndefined();
    expect(meta.warnings).toHaveLength(1);
  });
});
