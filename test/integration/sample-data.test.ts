import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// The committed sample tilesets, as a new user first sees them (npm start serves data/).
const DATA = join(REPO, 'data');
let server: TestServer;
let work: string;

beforeAll(async () => {
  server = await startTestServer(DATA);
  work = tempDir('tilestamp-sample-');
});

afterAll(async () => {
  await server?.close();
  removeDir(work);
});

/** The XYZ tiles a file holds, from its TMS rows. */
const tilesOf = (file: string) => readStoredTiles(join(DATA, file)).map((t) => ({ z: t.z, x: t.x, y: 2 ** t.z - 1 - t.y }));

const MBTILES = readdirSync(DATA).filter((name) => name.endsWith('.mbtiles'));

/** The tile and the pixel in it that show a place, at zoom `z` (Web Mercator, 256 px tiles). */
function pixelAt(lng: number, lat: number, z: number) {
  const n = 2 ** z;
  const x = ((lng + 180) / 360) * n;
  const rad = (lat * Math.PI) / 180;
  const y = ((1 - Math.log(Math.tan(Math.PI / 4 + rad / 2)) / Math.PI) / 2) * n;
  return { x: Math.floor(x), y: Math.floor(y), px: Math.floor((x % 1) * 256), py: Math.floor((y % 1) * 256) };
}

describe('the sample data in data/', () => {
  it('stays small: under 2 MB', () => {
    const bytes = readdirSync(DATA).reduce((sum, name) => sum + statSync(join(DATA, name)).size, 0);
    expect(bytes).toBeLessThan(2_000_000);
  });

  it('holds no tile off the z/x/y grid: every row can be served (and /health counts none)', async () => {
    expect(MBTILES).toEqual(expect.arrayContaining(['countries.mbtiles', 'land.mbtiles']));
    const { tilesets } = (await (await server.get('/health')).json()) as { tilesets: Record<string, { outside_grid?: number }> };
    for (const name of MBTILES) {
      const rows = readStoredTiles(join(DATA, name));
      expect(rows.length, name).toBeGreaterThan(50);
      const off = rows.filter((t) => !(t.z >= 0 && t.x >= 0 && t.y >= 0 && t.x < 2 ** t.z && t.y < 2 ** t.z));
      expect(off.map((t) => `${t.z}/${t.x}/${t.y}`)).toEqual([]);
      expect(tilesets[name.replace(/\.mbtiles$/, '')]?.outside_grid, name).toBe(0);
    }
  });

  it('draws no polygon edge the long way round the world (rings cut at the antimeridian)', async () => {
    const tiles = tilesOf('countries.mbtiles');
    expect(tiles.length).toBeGreaterThan(100);
    const across: string[] = [];
    for (const { z, x, y } of tiles) {
      const res = await server.get(`/tiles/countries/${z}/${x}/${y}.pbf`);
      expect(res.status, `${z}/${x}/${y}`).toBe(200);
      const tile = new VectorTile(new PbfReader(new Uint8Array(await res.arrayBuffer())));
      const layer = tile.layers.countries;
      if (layer === undefined) continue;
      for (let i = 0; i < layer.length; i++) {
        const feature = layer.feature(i);
        const extent = layer.extent;
        for (const ring of feature.loadGeometry()) {
          for (let j = 1; j < ring.length; j++) {
            const a = ring[j - 1]!;
            const b = ring[j]!;
            // Clipping lays edges along the tile's top and bottom; anything else spanning more than
            // half the tile is a ring drawn across the map.
            const onEdge = (a.y <= 0 && b.y <= 0) || (a.y >= extent && b.y >= extent);
            if (Math.abs(b.x - a.x) > extent / 2 && !onEdge) across.push(`${z}/${x}/${y} ${feature.properties.name}`);
          }
        }
      }
    }
    expect([...new Set(across)]).toEqual([]);
  });

  it('paints the North Atlantic at 67°N 30°W as sea, not as a band of Russia', async () => {
    const { x, y, px, py } = pixelAt(-30, 67, 3);
    const res = await server.get(`/tiles/land/3/${x}/${y}.png`);
    expect(res.status).toBe(200);
    const png = join(work, 'tile.png');
    writeFileSync(png, Buffer.from(await res.arrayBuffer()));
    // GDAL reads the PNG (no decoder of our own): the bands' values at the pixel.
    const report = execFileSync('gdallocationinfo', ['-valonly', png, String(px), String(py)], { encoding: 'utf8' });
    expect(report.trim().split('\n').slice(0, 3).map(Number)).toEqual([170, 211, 223]);
  });

  it('has a point layer of populated places, credited in the attribution', async () => {
    const tilejson = (await (await server.get('/tiles/countries.json')).json()) as {
      vector_layers: { id: string }[];
      attribution?: string;
    };
    expect(tilejson.vector_layers.map((l) => l.id).sort()).toEqual(['countries', 'places']);
    expect(tilejson.attribution).toMatch(/Natural Earth.*SimpleMaps.*CC BY 4\.0/);
    const res = await server.get('/tiles/countries/0/0/0.pbf');
    const places = new VectorTile(new PbfReader(new Uint8Array(await res.arrayBuffer()))).layers.places;
    expect(places?.length).toBeGreaterThan(100);
    expect(places?.feature(0).type).toBe(1); // Point
    const style = (await (await server.get('/styles/countries.json')).json()) as {
      layers: { type: string; 'source-layer'?: string }[];
    };
    expect(style.layers.some((l) => l.type === 'circle' && l['source-layer'] === 'places')).toBe(true);
  });
});
