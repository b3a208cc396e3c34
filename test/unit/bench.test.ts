import { copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { bigSet, tileCoords } from '../../bench/lib/datasets.mjs';
import { addRatios, markdownTable, median, type Row, summarize } from '../../bench/lib/report.mjs';
import { loadMbtilesSource } from '../../src/source/mbtiles-source.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { execSql, REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';

const run = (rps: number, p99Ms: number) => ({ rps, p50Ms: p99Ms / 2, p99Ms, requests: rps * 5, errors: 0 });
const row = (key: string, rps: number[], p99Ms: number): Row => ({
  key,
  label: key,
  rounds: rps.map((r) => run(r, p99Ms)),
  summary: summarize(rps.map((r) => run(r, p99Ms))),
});

describe('bench report', () => {
  it.each([
    [[], undefined],
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])('median of %j is %s', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('gives each row its ratios to the ceiling, the Koa floor, the SQLite floor and tileserver-gl-light, from the medians', () => {
    const rows = [
      row('ceiling', [20_000, 40_000, 30_000], 2),
      row('koa', [20_000], 4),
      row('sqlite', [10_000], 10),
      row('tilestamp', [16_000], 5),
      row('tsgl', [1_000], 50),
    ];
    addRatios(rows);
    expect(rows[3]?.ratios).toEqual({
      toCeiling: 16_000 / 30_000,
      toKoaFloor: 0.8,
      toSqliteFloor: 1.6,
      toTileserverGl: 16,
      p99ToKoaFloor: 1.25,
      p99ToSqliteFloor: 0.5,
    });
    expect(rows[0]?.summary).toMatchObject({ rps: 30_000, minRps: 20_000, maxRps: 40_000 });
  });

  it("prints the median of the server's CPU time per request, and – when a round was not measured", () => {
    const cpu = (rps: number, us: number) => ({ ...run(rps, 5), cpuUsPerRequest: us });
    const measured: Row = { key: 'tilestamp', label: 'tilestamp', rounds: [cpu(1, 40), cpu(1, 52), cpu(1, 45)] };
    measured.summary = summarize(measured.rounds ?? []);
    const unmeasured = row('koa', [20_000], 4);
    addRatios([measured, unmeasured]);
    const table = markdownTable({ sets: [{ name: 'big', rows: [measured, unmeasured] }] });
    expect(table).toContain('| big | tilestamp | 1 | ±0 % | 5.0 | 45.0 |');
    expect(table).toContain('| big | koa | 20,000 | – | 4.0 | – |');
  });

  it('prints why a row has no figures, and n/a for a cache without counters', () => {
    const measured: Row = { ...row('tilestamp', [10_000], 5), cache: {} };
    const missing: Row = { key: 'tilestamp-w2', label: 'tilestamp --workers 2', status: 'n/a (no --workers)' };
    addRatios([measured, missing]);
    const table = markdownTable({ sets: [{ name: 'vector', rows: [measured, missing] }] });
    expect(table).toContain('| vector | tilestamp | 10,000 | – | 5.0 |');
    expect(table).toMatch(/\| n\/a \|$/m);
    expect(table).toContain('| vector | tilestamp --workers 2 | n/a (no --workers) |');
  });
});

describe('bench data sets', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) removeDir(dir);
    dir = undefined;
  });

  it('walks the tiles a server can serve, in XYZ, the same order every run, every zoom in a sample', () => {
    dir = tempDir('bench-walk-');
    const file = join(dir, 'countries.mbtiles');
    copyFileSync(join(REPO, 'data', 'countries.mbtiles'), file);
    // Rows off the grid, as GDAL writes for geometry across the antimeridian or past ±85.05°.
    execSql(
      file,
      'INSERT INTO tiles SELECT zoom_level, 1 << zoom_level, tile_row, tile_data FROM tiles WHERE tile_column = 0; ' +
        'INSERT INTO tiles SELECT zoom_level, tile_column, -1, tile_data FROM tiles WHERE tile_row = 0 AND tile_column >= 0',
    );
    const all = tileCoords(file);
    const stored = readStoredTiles(file);
    const inGrid = stored.filter((t) => t.x >= 0 && t.y >= 0 && t.x < 2 ** t.z && t.y < 2 ** t.z);
    expect(inGrid.length).toBeLessThan(stored.length);
    expect(all).toHaveLength(inGrid.length);
    for (const [z, x, y, row] of all) {
      expect(x).toBeLessThan(2 ** z);
      expect(y).toBe(2 ** z - 1 - row);
    }
    expect(tileCoords(file)).toEqual(all);
    const sample = tileCoords(file, 12);
    expect(sample).toHaveLength(12);
    expect(new Set(sample.map(([z]) => z))).toEqual(new Set([0, 1, 2, 3, 4]));
  });

  it('makes the big file once, of random 1–9 KiB gzip tiles tilestamp serves, and reuses it', async () => {
    dir = tempDir('bench-set-');
    const lines: string[] = [];
    const set = bigSet(dir, 30, (line) => lines.push(line));
    const tiles = readStoredTiles(set.file);
    expect(tiles).toHaveLength(30);
    expect(new Set(tiles.map((t) => t.z))).toEqual(new Set([0, 1, 2, 3]));
    for (const tile of tiles) {
      const size = gunzipSync(tile.data).length;
      expect(size).toBeGreaterThanOrEqual(1024);
      expect(size).toBeLessThan(9 * 1024);
    }
    const source = await loadMbtilesSource(betterSqliteDriver, 'big', set.file);
    expect(source.format).toBe('pbf');
    source.close();

    const made = statSync(set.file).mtimeMs;
    expect(bigSet(dir, 30, (line) => lines.push(line)).file).toBe(set.file);
    expect(statSync(set.file).mtimeMs).toBe(made);
    expect(lines.filter((l) => l.startsWith('making'))).toHaveLength(1);
  });
});
