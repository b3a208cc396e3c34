import { chownSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, execSql, REPO, removeDir, tempDir, truncatedCopy, writeBytes } from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { spawnServer } from '../helpers/process.ts';
import { needsRoot } from '../helpers/root.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

interface Health {
  status: string;
  tilesets: Record<string, { state: string; reason?: string; version?: string; warnings?: string[] }>;
}

/** Each broken file, and words its failure reason must contain so an operator knows what to fix. */
const BROKEN: [id: string, reason: RegExp][] = [
  ['invalid', /MBTiles|SQLite|database/i],
  ['zero-bytes', /no metadata table/],
  ['not-sqlite', /cannot open as SQLite|not a database/i],
  ['truncated', /malformed|cannot be read|not a database/i],
  ['no-metadata', /no metadata table/],
  ['no-tiles', /no tiles table or view/],
  ['wrong-format', /metadata format is png but tile .* is pbf/],
  ['garbage-tile', /metadata format is png but tile .* is not an image/],
  ['unknown-format', /metadata format "tiff" is not one of/],
  ['empty-no-zooms', /no tiles: the tiles table is empty/],
  ['empty-no-format', /no tiles: the tiles table is empty/],
  ['empty-with-metadata', /no tiles: the tiles table is empty/],
  ['huge-row', /coordinates that are not 32-bit integers: 2\/0\/3000000000/],
  ['null-zoom', /coordinates that are not 32-bit integers: null\/0\/0/],
  ['unindexed-big', /no index on \(zoom_level, tile_column, tile_row\) and over 10000 tiles/],
];

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir();
  copyFixture('world_cities.mbtiles', dir);
  copyFixture('invalid.mbtiles', dir);
  writeBytes(join(dir, 'zero-bytes.mbtiles'), '');
  writeBytes(join(dir, 'not-sqlite.mbtiles'), 'this is a text file, not a tileset\n'.repeat(100));
  // Half of a file as a copy interrupted midway leaves it: the header says more pages than exist.
  truncatedCopy(copyFixture('countries.mbtiles', dir, 'full.tmp'), join(dir, 'truncated.mbtiles'), 200_000);
  execSql(copyFixture('world_cities.mbtiles', dir, 'no-metadata.mbtiles'), 'DROP TABLE metadata');
  execSql(copyFixture('world_cities.mbtiles', dir, 'no-tiles.mbtiles'), 'DROP TABLE tiles');
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'wrong-format.mbtiles'),
    "UPDATE metadata SET value = 'png' WHERE name = 'format'",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'garbage-tile.mbtiles'),
    "UPDATE metadata SET value = 'png' WHERE name = 'format'; UPDATE tiles SET tile_data = X'00010203040506070809'",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'unknown-format.mbtiles'),
    "UPDATE metadata SET value = 'tiff' WHERE name = 'format'",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'empty-no-zooms.mbtiles'),
    "DELETE FROM tiles; DELETE FROM metadata WHERE name IN ('minzoom', 'maxzoom')",
  );
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'empty-no-format.mbtiles'),
    "DELETE FROM tiles; DELETE FROM metadata WHERE name = 'format'",
  );
  execSql(copyFixture('world_cities.mbtiles', dir, 'empty-with-metadata.mbtiles'), 'DELETE FROM tiles');
  execSql(copyFixture('world_cities.mbtiles', dir, 'huge-row.mbtiles'), "INSERT INTO tiles VALUES (2, 0, 3000000000, X'1a00')");
  execSql(copyFixture('world_cities.mbtiles', dir, 'null-zoom.mbtiles'), "INSERT INTO tiles VALUES (NULL, 0, 0, X'1a00')");
  // 10,001 tiles and no index: each lookup would scan the table and stall every other request.
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'unindexed-big.mbtiles'),
    `DROP INDEX tile_index;
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
     INSERT INTO tiles SELECT 14, i, 0, X'1a00' FROM n;`,
  );
  // Small and unindexed: served, with a warning.
  execSql(copyFixture('world_cities.mbtiles', dir, 'unindexed-small.mbtiles'), 'DROP INDEX tile_index');
  // A corrupt gzip tile and a gzip bomb (300 MB of zeros in 300 KB).
  execSql(
    copyFixture('world_cities.mbtiles', dir, 'bad-gzip.mbtiles'),
    `UPDATE tiles SET tile_data = X'1f8b0800000000000003ffffffff' WHERE zoom_level = 0;
     UPDATE tiles SET tile_data = X'${gzipSync(Buffer.alloc(300 * 1024 * 1024), { level: 9 }).toString('hex')}'
       WHERE zoom_level = 1 AND tile_column = 0 AND tile_row = 1;`,
  );
  server = await startTestServer(dir);
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

describe('bad files', () => {
  it('keeps serving the good tileset beside them', async () => {
    const res = await getGzip(`${server.url}/tiles/world_cities/0/0/0.pbf`);
    expect(res.status).toBe(200);
    expect(json<{ id: string }[]>(await rawRequest(`${server.url}/catalog.json`)).map((e) => e.id)).toEqual([
      'bad-gzip',
      'unindexed-small',
      'world_cities',
    ]);
  });

  it('lists each broken file as failed in /health with a reason that says what is wrong', async () => {
    const res = await rawRequest(`${server.url}/health`);
    expect(res.status).toBe(200);
    const health = json<Health>(res);
    expect(health.status).toBe('degraded');
    expect(health.tilesets.world_cities?.state).toBe('ok');
    for (const [id, reason] of BROKEN) {
      expect(health.tilesets[id]?.state, id).toBe('failed');
      expect(health.tilesets[id]?.reason, id).toMatch(reason);
    }
  });

  it('logs one error line per broken file, naming the file and the reason', () => {
    for (const [id, reason] of BROKEN) {
      const lines = server.logs.filter((l) => l.level === 'error' && l.fields.tileset === id);
      expect(lines, id).toHaveLength(1);
      expect(String(lines[0]!.fields.reason)).toMatch(reason);
      expect(String(lines[0]!.fields.path)).toBe(join(dir, `${id}.mbtiles`));
    }
  });

  it('answers 404 no-store for tiles and TileJSON of a failed tileset, never 5xx', async () => {
    for (const [id] of BROKEN) {
      for (const path of [`/tiles/${id}.json`, `/tiles/${id}/0/0/0.pbf`, `/tiles/${id}/0/0/0.png`]) {
        const res = await rawRequest(`${server.url}${path}`);
        expect(res.status, path).toBe(404);
        expect(header(res, 'cache-control')).toBe('no-store');
        expect(json<{ error: string }>(res).error).toMatch(/failed to load/);
      }
    }
  });

  it('leaves no handle open on a rejected file', () => {
    // /proc/self/fd lists what this process holds; the server runs in it.
    const open = readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return [];
      }
    });
    for (const [id] of BROKEN) expect(open, id).not.toContain(join(dir, `${id}.mbtiles`));
    expect(open).toContain(join(dir, 'world_cities.mbtiles'));
  });

  it('serves a small file without a tile index, and says so in /health', async () => {
    const health = json<Health>(await rawRequest(`${server.url}/health`));
    expect(health.tilesets['unindexed-small']?.state).toBe('ok');
    expect(health.tilesets['unindexed-small']?.warnings?.join()).toMatch(/no index/);
    expect((await getGzip(`${server.url}/tiles/unindexed-small/0/0/0.pbf`)).status).toBe(200);
  });

  it('answers 406 (never 5xx) when a stored tile cannot be gunzipped for a client that takes no gzip', async () => {
    for (const zxy of ['0/0/0', '1/0/0']) {
      const plain = await rawRequest(`${server.url}/tiles/bad-gzip/${zxy}.pbf`);
      expect(plain.status, zxy).toBe(406);
      expect(header(plain, 'cache-control')).toBe('no-store');
      expect(json<{ error: string }>(plain).error).toMatch(/Accept-Encoding: gzip/);
      // A client that takes gzip gets the stored bytes, as they are.
      const gz = await getGzip(`${server.url}/tiles/bad-gzip/${zxy}.pbf`);
      expect(gz.status).toBe(200);
    }
    expect(server.logs.some((l) => l.level === 'warn' && l.fields.tileset === 'bad-gzip')).toBe(true);
  });
});

describe('an unreadable subfolder', () => {
  // Root reads everything, so the server runs as root without the two capabilities that let it
  // (setpriv); the folder belongs to another user, as a volume's root-only lost+found does to it.
  // Unlike running as `nobody`, this works wherever the checkout is (a 0700 temp folder, /root).
  it('is skipped with a log line while the rest is served (server without DAC override)', async (ctx) => {
    needsRoot(ctx, 'the server runs as root without DAC override to meet a folder it cannot read');
    const folder = tempDir();
    try {
      copyFixture('world_cities.mbtiles', folder);
      const hidden = join(folder, 'lost+found');
      mkdirSync(hidden, { mode: 0o700 });
      copyFixture('countries.mbtiles', hidden);
      chownSync(hidden, 65534, 65534);
      const dropped = '-dac_override,-dac_read_search';
      const server = await spawnServer(
        'setpriv',
        [`--inh-caps=${dropped}`, `--bounding-set=${dropped}`, 'node', join(REPO, 'dist/cli.js'), 'serve'],
        {
          TILESTAMP_DATA: folder,
          TILESTAMP_PORT: '0',
          TILESTAMP_HOST: '127.0.0.1',
        },
      );
      try {
        expect(json<{ id: string }[]>(await rawRequest(`${server.url}/catalog.json`)).map((e) => e.id)).toEqual(['world_cities']);
        const skipped = server.stdout.map((l) => JSON.parse(l)).find((l) => l.msg === 'file skipped');
        expect(skipped).toMatchObject({ path: hidden });
        expect(skipped.reason).toMatch(/folder cannot be read: EACCES/);
      } finally {
        await server.stop();
      }
    } finally {
      removeDir(folder);
    }
  });
});

describe('what is not served is visible where people look', () => {
  let folder: string;
  let other: TestServer;
  const index = async (url: string) => (await rawRequest(`${url}/`)).body.toString();
  /** The rows of the index page's "Not served" table, as [file, state, reason] with entities decoded. */
  const notServed = (html: string) =>
    [
      ...(/<table id="not-served">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '').matchAll(
        /<tr><td>(.*?)<\/td><td>(.*?)<\/td><td>(.*?)<\/td><\/tr>/g,
      ),
    ].map((m) => m.slice(1, 4).map((cell) => cell.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))));

  beforeAll(async () => {
    folder = tempDir();
    copyFixture('world_cities.mbtiles', folder);
    copyFixture('countries.mbtiles', folder, 'UPPER.MBTILES');
    copyFixture('countries.mbtiles', folder, 'bad name.mbtiles');
    copyFixture('countries.mbtiles', folder, '.staging.mbtiles'); // a writer's dotfile: not announced
    mkdirSync(join(folder, 'sub', 'deeper'), { recursive: true });
    copyFixture('countries.mbtiles', join(folder, 'sub'), 'one-deep.mbtiles');
    copyFixture('countries.mbtiles', join(folder, 'sub', 'deeper'), 'two-deep.mbtiles');
    copyFixture('world_cities.mbtiles', folder, 'busy.mbtiles');
    writeBytes(join(folder, 'busy.mbtiles-journal'), 'a writer is at work'.repeat(100));
    other = await startTestServer(folder);
  });

  afterAll(async () => {
    await other?.close();
    removeDir(folder);
  });

  it('/health lists every .mbtiles name (any case, any depth) that is not served, with its reason', async () => {
    const health = json<{ tilesets: Record<string, { state: string }>; skipped: { name: string; reason: string }[] }>(
      await rawRequest(`${other.url}/health`),
    );
    expect(Object.keys(health.tilesets).sort()).toEqual(['busy', 'sub/one-deep', 'world_cities']);
    expect(health.skipped).toEqual([
      { name: 'UPPER.MBTILES', reason: 'the extension must be .mbtiles in lower case' },
      { name: 'bad name.mbtiles', reason: 'file name is not a valid id ([A-Za-z0-9._-])' },
      { name: 'sub/deeper/two-deep.mbtiles', reason: 'too deep: only the data folder and its direct subfolders are served' },
    ]);
  });

  it('the index page shows skipped and waiting files with their reasons', async () => {
    expect(notServed(await index(other.url))).toEqual([
      ['busy', 'waiting', 'hot journal beside the file'],
      ['UPPER.MBTILES', 'skipped', 'the extension must be .mbtiles in lower case'],
      ['bad name.mbtiles', 'skipped', 'file name is not a valid id ([A-Za-z0-9._-])'],
      ['sub/deeper/two-deep.mbtiles', 'skipped', 'too deep: only the data folder and its direct subfolders are served'],
    ]);
  });

  it('the index page shows each failed file with its reason', async () => {
    const rows = notServed(await index(server.url));
    for (const [id, reason] of BROKEN) {
      const row = rows.find(([name]) => name === id);
      expect(row?.[1], id).toBe('failed');
      expect(row?.[2], id).toMatch(reason);
    }
    expect(rows.map(([name]) => name)).not.toContain('world_cities');
  });

  it('an empty data folder logs a warning at start; a folder with tilesets does not', async () => {
    const empty = tempDir();
    const nothing = await startTestServer(empty);
    try {
      const warnings = nothing.logs.filter((l) => l.level === 'warn' && l.message === 'no tilesets in the data folder');
      expect(warnings.map((l) => l.fields.dataDir)).toEqual([empty]);
    } finally {
      await nothing.close();
      removeDir(empty);
    }
    expect(other.logs.some((l) => l.message === 'no tilesets in the data folder')).toBe(false);
  });
});
