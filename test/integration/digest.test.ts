import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestPool } from '../../src/source/digest-pool.ts';
import { loadMbtilesSource, openValidated } from '../../src/source/mbtiles-source.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { copyFixture, execSql, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { expectedContentVersion, type RawTile, rawTile as tile, writeTilesFile } from '../helpers/tiles-file.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The test vector of the README: a negative row (GDAL writes them), an empty blob, a NULL
 * tile (left out), and columns 63, 64 and 130 of zoom 7, which fall in three column blocks.
 */
const VECTOR: readonly RawTile[] = [
  tile(0, 0, 0, 0x1f, 0x8b, 0x0a, 0x00),
  tile(1, 0, 1, 0x1f, 0x8b, 0x4e, 0x47),
  tile(1, 1, -1, 0xff),
  tile(2, 3, 0),
  { z: 2, x: 3, y: 1, data: null },
  tile(7, 63, 5, 1, 2, 3),
  tile(7, 64, 5, 4, 5, 6),
  tile(7, 130, 0, 7),
  tile(14, 8529, 10408, ...Array.from({ length: 300 }, (_, i) => i % 256)),
];
const VECTOR_VERSION = 'b6cec37348310448';

let dir: string;
let counter = 0;
const pools = new Map<number, DigestPool>();

beforeAll(() => {
  dir = tempDir();
});

afterAll(async () => {
  await Promise.all([...pools.values()].map((p) => p.close()));
  removeDir(dir);
});

function pool(threads: number): DigestPool {
  const made = pools.get(threads) ?? new DigestPool({ threads });
  pools.set(threads, made);
  return made;
}

async function versionOf(path: string, threads = 2): Promise<string> {
  const source = await loadMbtilesSource(betterSqliteDriver, 'test', path, undefined, { pool: pool(threads) });
  source.close();
  return source.version;
}

const fileOf = (tiles: readonly RawTile[]) => writeTilesFile(join(dir, `t${counter++}.mbtiles`), tiles);

describe('content version (tree over fixed key ranges)', () => {
  it('gives the test vector, as the formula written out independently does', async () => {
    const path = fileOf(VECTOR);
    expect(expectedContentVersion(VECTOR)).toBe(VECTOR_VERSION);
    expect(await versionOf(path, 1)).toBe(VECTOR_VERSION);
  });

  it('does not depend on the number of threads, nor on the order rows were written', async () => {
    const path = fileOf([...VECTOR].reverse());
    const versions = [await versionOf(path, 1), await versionOf(path, 2), await versionOf(path, 5)];
    expect(versions).toEqual([VECTOR_VERSION, VECTOR_VERSION, VECTOR_VERSION]);
  });

  it('is the same with 1 and 4 threads for a real tippecanoe file (deduplicated schema)', async () => {
    const path = copyFixture('countries.mbtiles', dir, 'countries-threads.mbtiles');
    const one = await pool(1).digestContent(path, statSync(path).ino);
    const four = await pool(4).digestContent(path, statSync(path).ino);
    expect(four).toEqual(one);
    expect(one.tiles).toBeGreaterThan(100);
  });

  it('opens a file with what the primary of --workers found out, validating and digesting nothing', async () => {
    const path = fileOf(VECTOR);
    const info = {
      name: 'as told',
      minzoom: 0,
      maxzoom: 3,
      bounds: [0, 0, 1, 1] as [number, number, number, number],
      center: [0, 0, 0] as [number, number, number],
    };
    const source = openValidated(betterSqliteDriver, 'test', path, {
      version: 'v-from-primary',
      format: 'pbf',
      info,
      warnings: ['told'],
    });
    try {
      expect([source.version, source.format, source.info, source.warnings]).toEqual(['v-from-primary', 'pbf', info, ['told']]);
      expect(source.fileState.ino).toBe(statSync(path).ino);
      expect(source.getTile(0, 0, 0)).toBeDefined();
    } finally {
      source.close();
    }
  });

  it('refuses to digest another inode than the one named (a file renamed over meanwhile), and goes on working', async () => {
    const path = fileOf(VECTOR);
    const other = statSync(path).ino + 1;
    await expect(pool(2).digestContent(path, other)).rejects.toThrow(/replaced while being versioned/);
    await expect(pool(2).digestFile(path, other)).rejects.toThrow(/replaced while being versioned/);
    expect((await pool(2).digestContent(path, statSync(path).ino)).digest.slice(0, 16)).toBe(VECTOR_VERSION);
  });

  it('stops idle workers, giving their memory back, and starts new ones for the next digest', async () => {
    const short = new DigestPool({ threads: 2, idleMs: 50 });
    try {
      const path = fileOf(VECTOR);
      await short.digestContent(path, statSync(path).ino);
      expect(short.running).toBeGreaterThan(0);
      await waitFor(() => short.running === 0, 'idle workers to stop');
      expect((await short.digestContent(path, statSync(path).ino)).digest.slice(0, 16)).toBe(VECTOR_VERSION);
    } finally {
      await short.close();
    }
  });

  it('gives Deno (node:sqlite) the same version as Node', () => {
    const path = fileOf(VECTOR);
    const deno = join(REPO, 'node_modules/deno/deno');
    const out = execFileSync(
      deno,
      ['run', '--allow-read', '--allow-env', '--allow-sys', join(REPO, 'src/cli.ts'), 'version', path],
      {
        encoding: 'utf8',
      },
    );
    expect(out.split(/\s+/)[0]).toBe(VECTOR_VERSION);
  }, 120_000);

  const base = [tile(3, 2, 5, 1, 2, 3), tile(3, 2, 6, 4, 5)];
  it.each<[string, RawTile[]]>([
    ['one byte changed', [tile(3, 2, 5, 1, 2, 4), tile(3, 2, 6, 4, 5)]],
    ['z changed', [tile(4, 2, 5, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['x changed', [tile(3, 3, 5, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['y changed', [tile(3, 2, 4, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['y negated', [tile(3, 2, -5, 1, 2, 3), tile(3, 2, 6, 4, 5)]],
    ['a tile added', [...base, tile(3, 2, 7)]],
    ['an empty tile added in another range', [...base, tile(0, 0, 0)]],
    ['a tile removed', [base[0]!]],
    ['a tile moved to the next column block', [tile(7, 63, 5, 1, 2, 3), tile(7, 64, 5, 4, 5)]],
    // Same concatenated bytes, different tile boundaries: the length in the header tells them apart.
    ['a byte moved to the next tile', [tile(3, 2, 5, 1, 2), tile(3, 2, 6, 3, 4, 5)]],
  ])('changes when %s', async (_name, changed) => {
    const before = await versionOf(fileOf(base));
    const after = await versionOf(fileOf(changed));
    expect(after).not.toBe(before);
    expect(after).toBe(expectedContentVersion(changed));
  });

  it('leaves NULL tiles out: a range holding only NULL tiles does not count', async () => {
    const withNull = [...base, { z: 9, x: 500, y: 3, data: null }];
    expect(await versionOf(fileOf(withNull))).toBe(await versionOf(fileOf(base)));
  });

  it.each([
    ['a text zoom level', "UPDATE tiles SET zoom_level = 'x' WHERE zoom_level = 3 AND tile_row = 6"],
    ['a NULL column', 'UPDATE tiles SET tile_column = NULL WHERE tile_row = 6'],
    ['a fractional row', 'UPDATE tiles SET tile_row = 5.5 WHERE tile_row = 6'],
  ])('refuses a file with %s, naming the reason', async (_name, sql) => {
    const path = writeTilesFile(join(dir, `t${counter++}.mbtiles`), [tile(0, 0, 0, 1), ...base], { minzoom: '0', maxzoom: '3' });
    execSql(path, sql);
    await expect(versionOf(path)).rejects.toThrow(/not (a )?32-bit integer/);
  });
});
