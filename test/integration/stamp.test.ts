import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, execSql, REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { startTestServer } from '../helpers/server.ts';
import { type RawTile, rawTile as tile, writeTilesFile } from '../helpers/tiles-file.ts';

const CLI = join(REPO, 'dist/cli.js');
const MD5_OF_NOTHING = 'D41D8CD98F00B204E9800998ECF8427E';

/** Rows in an order SQLite must fix: zoom 10 sorts after 9 as a number (as text it would not). */
const TILES: readonly RawTile[] = [
  tile(10, 3, 7, 0x1f, 0x8b, 1),
  tile(9, 511, 0, 0x1f, 0x8b, 2),
  tile(1, 1, -1, 0xff),
  tile(0, 0, 0, 0x1f, 0x8b),
  tile(2, 3, 0),
  { z: 2, x: 3, y: 1, data: null },
];

/**
 * martin's definition, written out here: MD5 over each row in (z, x, y) order of the decimal
 * text of z, x and y and then the bytes, nothing between them, NULLs left out; upper-case hex.
 */
function martinHash(tiles: readonly { z: number; x: number; y: number; data: Buffer | null }[]): string {
  const md5 = createHash('md5');
  for (const t of [...tiles].sort((a, b) => a.z - b.z || a.x - b.x || a.y - b.y)) {
    md5.update(`${t.z}${t.x}${t.y}`);
    if (t.data !== null) md5.update(t.data);
  }
  return md5.digest('hex').toUpperCase();
}

function cli(...args: string[]) {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

function storedHash(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT value FROM metadata WHERE name = 'agg_tiles_hash'").pluck().all() as string[];
  } finally {
    db.close();
  }
}

let dir: string;
let counter = 0;
const fileOf = (tiles: readonly RawTile[]) => writeTilesFile(join(dir, `s${counter++}.mbtiles`), tiles);

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => removeDir(dir));

describe('tilestamp stamp', () => {
  it("writes martin's agg_tiles_hash into the metadata and prints `hash  path`", () => {
    const path = fileOf(TILES);
    const expected = martinHash(TILES);
    expect(expected).not.toBe(MD5_OF_NOTHING);
    const run = cli('stamp', path);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(`${expected}  ${path}\n`);
    expect(storedHash(path)).toEqual([expected]);
  });

  it('gives a tippecanoe file (tiles as a view over map and images) the hash of its tile rows', () => {
    const path = copyFixture('countries.mbtiles', dir, 'stamp-countries.mbtiles');
    const run = cli('stamp', path);
    expect(run.status).toBe(0);
    expect(storedHash(path)).toEqual([martinHash(readStoredTiles(path))]);
  });

  it('replaces an older hash (one metadata row), and --version-from metadata then publishes it', () => {
    const path = fileOf(TILES);
    execSql(path, "INSERT INTO metadata VALUES ('agg_tiles_hash', 'OLD')");
    expect(cli('stamp', path).status).toBe(0);
    expect(storedHash(path)).toEqual([martinHash(TILES)]);
    const version = cli('version', '--version-from', 'metadata', path);
    expect(version.stdout.split(/\s+/)[0]).toBe(martinHash(TILES));
  });

  it('leaves the content version as it was', () => {
    const path = fileOf(TILES);
    const before = cli('version', path).stdout.split(/\s+/)[0];
    expect(cli('stamp', path).status).toBe(0);
    expect(cli('version', path).stdout.split(/\s+/)[0]).toBe(before);
  });

  it('may stamp a file being served: the server keeps serving it under the same version', async () => {
    const data = join(dir, 'served');
    const path = copyFixture('world_cities.mbtiles', data);
    const server = await startTestServer(data);
    try {
      const before = server.registry.versions().world_cities;
      expect(cli('stamp', path).status).toBe(0);
      await server.rescan('test', true);
      expect(server.registry.versions().world_cities).toBe(before);
      expect((await server.get('/tiles/world_cities.json')).status).toBe(200);
      expect(server.logs.filter((l) => l.level === 'error')).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('gets its write lock while the server reads the file without pause (each turn of reads lets go of its lock)', async () => {
    const data = join(dir, 'busy');
    const path = copyFixture('world_cities.mbtiles', data);
    const server = await startTestServer(data, { cacheBytes: 0, logLevel: 'warn' }); // every answer a read
    const tiles = readStoredTiles(path).map((t) => ({ ...t, plain: gunzipSync(t.data) }));
    let stamping = false;
    let done = false;
    const seen = { ok: 0, busy: 0, okWhileStamping: 0, other: [] as string[] };
    const reader = async (offset: number) => {
      for (let i = offset; !done && i < offset + 20_000; i += 7) {
        const t = tiles[i % tiles.length] as (typeof tiles)[number];
        const response = await server.get(`/tiles/world_cities/${t.z}/${t.x}/${2 ** t.z - 1 - t.y}.pbf`);
        const body = Buffer.from(await response.arrayBuffer()); // fetch takes the gzip coding off
        if (response.status === 200 && body.equals(t.plain)) {
          seen.ok += 1;
          if (stamping) seen.okWhileStamping += 1;
        } else if (response.status === 503) seen.busy += 1;
        else seen.other.push(`${response.status} for ${t.z}/${t.x}/${t.y}`);
      }
    };
    try {
      const readers = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => reader(n * 101));
      while (seen.ok < 200) await new Promise((resolve) => setTimeout(resolve, 5));
      stamping = true;
      const child = spawn('node', [CLI, 'stamp', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      stamping = false;
      done = true;
      await Promise.all(readers);
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      expect(storedHash(path)).toHaveLength(1);
      expect(seen.okWhileStamping).toBeGreaterThan(0); // the reads went on while it ran
      expect(seen.other).toEqual([]); // the right bytes, or 503 once the file is written in place
    } finally {
      done = true;
      await server.close();
    }
  });

  it('gives a file without tiles the MD5 of nothing', () => {
    const path = fileOf([]);
    expect(cli('stamp', path).stdout).toBe(`${MD5_OF_NOTHING}  ${path}\n`);
  });

  it('stamps every file named, and exits 1 when one fails, naming it, without touching it', () => {
    const a = fileOf(TILES);
    const bad = join(dir, 'not-sqlite.mbtiles');
    writeFileSync(bad, 'just text');
    const b = fileOf([tile(3, 1, 1, 9)]);
    const run = cli('stamp', a, bad, b);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe(`${martinHash(TILES)}  ${a}\n${martinHash([tile(3, 1, 1, 9)])}  ${b}\n`);
    expect(run.stderr).toMatch(new RegExp(`^tilestamp: ${bad}: .+\\n$`));
    expect(readFileSync(bad, 'utf8')).toBe('just text');
  });

  describe('--check', () => {
    it('exits 0 and prints `hash  path` when the stored hash matches, writing nothing', () => {
      const path = fileOf(TILES);
      cli('stamp', path);
      const bytes = readFileSync(path);
      const run = cli('stamp', '--check', path);
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(`${martinHash(TILES)}  ${path}\n`);
      expect(readFileSync(path).equals(bytes)).toBe(true);
    });

    it('exits 1 when a tile changed since it was stamped, and leaves the old hash', () => {
      const path = fileOf(TILES);
      cli('stamp', path);
      execSql(path, "UPDATE tiles SET tile_data = x'00' WHERE zoom_level = 0");
      const run = cli('stamp', '--check', path);
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`agg_tiles_hash is ${martinHash(TILES)}, the tiles give `);
      expect(storedHash(path)).toEqual([martinHash(TILES)]);
    });

    it('exits 1 for a file never stamped', () => {
      const path = fileOf(TILES);
      const run = cli('stamp', '--check', path);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('agg_tiles_hash is missing');
      expect(storedHash(path)).toEqual([]);
    });
  });

  it.each([
    [['stamp'], /stamp needs at least one FILE/],
    [['version', '--check', 'x.mbtiles'], /--check only applies to stamp/],
  ])('%j: a one-line error and exit code 2', (args, message) => {
    const run = cli(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
