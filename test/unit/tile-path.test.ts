import { describe, expect, it } from 'vitest';
import { parseTileCoordinates, parseTilePath, type TileRequest } from '../../src/http/tile-path.ts';

describe('parseTilePath', () => {
  it.each<[string, TileRequest]>([
    ['roads.json', { kind: 'tilejson', id: 'roads' }],
    ['world_cities.json', { kind: 'tilejson', id: 'world_cities' }],
    ['countries-v2.json', { kind: 'tilejson', id: 'countries-v2' }],
    ['v1.2.json', { kind: 'tilejson', id: 'v1.2' }],
    ['europe/roads.json', { kind: 'tilejson', id: 'europe/roads' }],
    ['roads/0/0/0.pbf', { kind: 'tile', id: 'roads', z: '0', x: '0', y: '0', ext: 'pbf' }],
    ['roads/14/8529/5975.mvt', { kind: 'tile', id: 'roads', z: '14', x: '8529', y: '5975', ext: 'mvt' }],
    ['v1.2/3/4/5.png', { kind: 'tile', id: 'v1.2', z: '3', x: '4', y: '5', ext: 'png' }],
    ['europe/roads/3/4/5.png', { kind: 'tile', id: 'europe/roads', z: '3', x: '4', y: '5', ext: 'png' }],
    ['roads/1/2/3.json', { kind: 'tile', id: 'roads', z: '1', x: '2', y: '3', ext: 'json' }],
    // Numbers stay text: judging them is parseTileCoordinates' job.
    ['roads/01/-1/abc.jpg', { kind: 'tile', id: 'roads', z: '01', x: '-1', y: 'abc', ext: 'jpg' }],
    // The extension starts at the first dot, so a fraction cannot pass as a row with a fitting extension.
    ['roads/1/0/1.5.png', { kind: 'tile', id: 'roads', z: '1', x: '0', y: '1', ext: '5.png' }],
    ['roads/1/0/0.pbf.gz', { kind: 'tile', id: 'roads', z: '1', x: '0', y: '0', ext: 'pbf.gz' }],
    ['roads/1/0/.png', { kind: 'tile', id: 'roads', z: '1', x: '0', y: '', ext: 'png' }],
    ['roads/1/0/0.', { kind: 'tile', id: 'roads', z: '1', x: '0', y: '0', ext: '' }],
  ])('%j → %j', (path, expected) => {
    expect(parseTilePath(path)).toEqual(expected);
  });

  it.each([
    ['empty', ''],
    ['a bare id', 'roads'],
    ['a bare id with slash', 'roads/'],
    ['TileJSON two folders deep', 'a/b/c.json'],
    ['three segments', 'roads/1/2.png'],
    ['two segments, not json', 'roads/1.png'],
    ['leading slash', '/roads/1/0/0.png'],
    ['trailing slash', 'roads/1/0/0.png/'],
    ['double slash in the id', 'europe//roads/1/0/0.png'],
    ['double slash before z', 'roads//1/0/0.png'],
    ['empty z', 'roads//0/0.png'],
    ['empty x', 'roads/1//0.png'],
    ['empty id before json', '/roads.json'],
    ['trailing slash after json', 'roads.json/'],
  ])('%s (%j) → undefined', (_name, path) => {
    expect(parseTilePath(path)).toBeUndefined();
  });

  it('reads a tile path without extension as a tile with an empty extension (400 once the id is known)', () => {
    expect(parseTilePath('roads/1/0/0')).toEqual({ kind: 'tile', id: 'roads', z: '1', x: '0', y: '0', ext: '' });
  });
});

describe('parseTileCoordinates', () => {
  const zooms = { minzoom: 0, maxzoom: 14 };
  const coords = (z: string, x: string, y: string) => ({ z, x, y });

  it.each([
    ['0', '0', '0', 0, 0, 0],
    ['1', '1', '1', 1, 1, 1],
    ['14', '16383', '16383', 14, 16383, 16383],
    ['14', '8529', '5975', 14, 8529, 5975],
  ])('%s/%s/%s is tile %i/%i/%i', (z, x, y, ez, ex, ey) => {
    expect(parseTileCoordinates(coords(z, x, y), zooms)).toEqual({ ok: true, z: ez, x: ex, y: ey });
  });

  it('accepts the deepest tile of zoom 30', () => {
    const last = String(2 ** 30 - 1);
    expect(parseTileCoordinates(coords('30', last, last), { minzoom: 0, maxzoom: 30 })).toEqual({
      ok: true,
      z: 30,
      x: 2 ** 30 - 1,
      y: 2 ** 30 - 1,
    });
  });

  it.each([
    ['negative x', '1', '-1', '0'],
    ['negative y', '1', '0', '-1'],
    ['negative z', '-1', '0', '0'],
    ['fraction y', '1', '0', '1.5'],
    ['fraction z', '1.0', '0', '0'],
    ['leading zero z', '01', '0', '0'],
    ['leading zero x', '1', '00', '0'],
    ['empty y', '1', '0', ''],
    ['letters', 'a', 'b', 'c'],
    ['exponent', '1', '1e0', '0'],
    ['hex', '4', '0x1', '0'],
    ['space', '1', ' 0', '0'],
    ['x beyond 32 bits', '14', '4294967296', '0'],
    ['y with 20 digits', '14', '0', '99999999999999999999'],
    ['z beyond the URL grammar (31)', '31', '0', '0'],
    ['z far beyond', '99', '0', '0'],
  ])('%s (%s/%s/%s) is malformed: 400', (_name, z, x, y) => {
    const result = parseTileCoordinates(coords(z, x, y), zooms);
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ status: 400 });
    expect(result).toHaveProperty('message', expect.stringContaining(`${z}/${x}/${y}`));
  });

  it.each([
    ['zoom above maxzoom', '15', '0', '0', zooms],
    ['zoom below minzoom', '3', '0', '0', { minzoom: 4, maxzoom: 10 }],
    ['zoom 30 above maxzoom', '30', '0', '0', zooms],
    ['x = 2^z at z=0', '0', '1', '0', zooms],
    ['y = 2^z at z=0', '0', '0', '1', zooms],
    ['x = 2^z', '3', '8', '0', zooms],
    ['y = 2^z', '3', '0', '8', zooms],
    ['x far off the grid but still a 32-bit number', '14', '4294967295', '0', zooms],
    ['y off the grid at zoom 1', '1', '0', '2', zooms],
  ])('%s (%s/%s/%s) is missing: 404', (_name, z, x, y, range) => {
    const result = parseTileCoordinates(coords(z, x, y), range);
    expect(result).toMatchObject({ ok: false, status: 404 });
  });

  it('checks the zoom range before the grid, with a message naming the range', () => {
    expect(parseTileCoordinates(coords('2', '9', '9'), { minzoom: 4, maxzoom: 10 })).toEqual({
      ok: false,
      status: 404,
      message: 'zoom 2 is outside 4-10',
    });
  });

  it('accepts zooms at both ends of the range', () => {
    const range = { minzoom: 4, maxzoom: 10 };
    expect(parseTileCoordinates(coords('4', '15', '15'), range)).toMatchObject({ ok: true, z: 4 });
    expect(parseTileCoordinates(coords('10', '1023', '0'), range)).toMatchObject({ ok: true, z: 10 });
  });
});
