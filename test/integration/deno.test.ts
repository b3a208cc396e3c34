import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, renameSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, gdalRaster, REPO, readStoredTiles, removeDir, tempDir, writeBytes } from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { holdExclusiveLock } from '../helpers/lock.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { renameCopyOver, rewriteInPlace, sha1 } from '../helpers/rewrite.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { openSse } from '../helpers/sse.ts';
import { waitFor } from '../helpers/wait.ts';

const DENO = join(REPO, 'node_modules/deno/deno');

let dir: string;
let deno: ServerProcess;
let node: TestServer;

beforeAll(async () => {
  expect(existsSync(DENO), 'the deno dev dependency is installed').toBe(true);
  dir = tempDir();
  copyFixture('countries.mbtiles', dir);
  copyFixture('world_cities.mbtiles', dir);
  gdalRaster(dir, 'raster.mbtiles', 'PNG');
  cpSync(join(REPO, 'data', 'fonts'), join(dir, 'fonts'), { recursive: true });
  cpSync(join(REPO, 'data', 'sprites'), join(dir, 'sprites'), { recursive: true });
  // `deno task start` as a user runs it, from the repository, on src/ as it is (no build step).
  deno = await spawnServer(DENO, ['task', '--quiet', 'start', '--data', dir, '--port', '0', '--host', '127.0.0.1'], {}, 120_000);
  node = await startTestServer(dir);
}, 180_000);

afterAll(async () => {
  await deno?.stop();
  await node?.close();
  removeDir(dir);
});

describe('under Deno', () => {
  it('starts from the documented task without a warning, and remembers versions in its state dir', async () => {
    await waitFor(() => deno.stdout.some((line) => JSON.parse(line).msg === 'ready'), 'ready');
    // Only the Deno server has a state dir here (the Node one in this file has none).
    const stateFile = join(process.env.XDG_CACHE_HOME as string, 'tilestamp', 'versions.json');
    const ino = String(statSync(join(dir, 'countries.mbtiles')).ino);
    const remembered = () =>
      existsSync(stateFile) &&
      (JSON.parse(readFileSync(stateFile, 'utf8')) as { entries: { ino: string }[] }).entries.some((e) => e.ino === ino);
    await waitFor(remembered, 'the Deno server to write its state file');
    expect(deno.stdout.filter((line) => (JSON.parse(line) as { level: number }).level >= 40)).toEqual([]);
  });

  it('answers the same font list, glyph ranges and sprites as Node, byte for byte', async () => {
    const sprites = ['maki.json', 'maki.png', 'maki@2x.png', 'maki.sdf.json', 'maki.sdf@2x.png'].map((f) => `/sprites/${f}`);
    for (const path of [
      '/fonts.json',
      '/fonts/Noto%20Sans%20Regular/0-255.pbf',
      '/font/Noto%20Sans%20Regular/1024-1279',
      ...sprites,
    ]) {
      const fromDeno = await rawRequest(`${deno.url}${path}`);
      const fromNode = await rawRequest(`${node.url}${path}`);
      expect(fromDeno.status, path).toBe(200);
      expect(fromDeno.body.equals(fromNode.body), path).toBe(true);
      expect(header(fromDeno, 'x-tilestamp-version')).toBe(header(fromNode, 'x-tilestamp-version'));
    }
  });

  it('reads the files with the node:sqlite driver', async () => {
    const health = json<{ driver: string; status: string }>(await rawRequest(`${deno.url}/health`));
    expect(health).toMatchObject({ driver: 'node:sqlite', status: 'ok' });
  });

  it('publishes the same versions as Node for the same files', async () => {
    const fromDeno = json<{ id: string; version: string }[]>(await rawRequest(`${deno.url}/catalog.json`));
    const fromNode = json<{ id: string; version: string }[]>(await rawRequest(`${node.url}/catalog.json`));
    expect(fromDeno.map((e) => e.id)).toEqual(['countries', 'raster', 'world_cities']);
    expect(fromDeno.map((e) => [e.id, e.version])).toEqual(fromNode.map((e) => [e.id, e.version]));
  });

  it('serves TileJSON with versioned URLs', async () => {
    const tj = json<{ tilejson: string; tiles: string[] }>(await rawRequest(`${deno.url}/tiles/countries.json`));
    expect(tj.tilejson).toBe('3.0.0');
    expect(tj.tiles[0]).toMatch(new RegExp(`^${deno.url}/tiles/countries/\\{z\\}/\\{x\\}/\\{y\\}\\.pbf\\?v=[0-9a-f]{16}$`));
  });

  it('serves a vector tile byte for byte, gzipped or not, and a raster tile as an image', async () => {
    const stored = readStoredTiles(join(dir, 'countries.mbtiles')).find((t) => t.z === 1 && t.x === 1 && t.y === 1)!;
    const gz = await getGzip(`${deno.url}/tiles/countries/1/1/0.pbf`);
    expect(gz.status).toBe(200);
    expect(header(gz, 'content-type')).toBe('application/vnd.mapbox-vector-tile');
    expect(header(gz, 'content-encoding')).toBe('gzip');
    expect(gz.body.equals(stored.data)).toBe(true);
    const plain = await rawRequest(`${deno.url}/tiles/countries/1/1/0.pbf`);
    const plainNode = await rawRequest(`${node.url}/tiles/countries/1/1/0.pbf`);
    expect(plain.body.equals(plainNode.body)).toBe(true);
    const raster = await rawRequest(`${deno.url}/tiles/raster/0/0/0.png`);
    const storedRaster = readStoredTiles(join(dir, 'raster.mbtiles')).find((t) => t.z === 0)!;
    expect(header(raster, 'content-type')).toBe('image/png');
    expect(raster.body.equals(storedRaster.data)).toBe(true);
  });

  it('serves the same style, and the viewer with the same static files (found in node_modules and static/)', async () => {
    const style = async (url: string) => (await rawRequest(`${url}/styles/countries.json`)).body.toString().replaceAll(url, '');
    expect(await style(deno.url)).toBe(await style(node.url));
    for (const route of ['/client/tilestamp.js', '/vendor/maplibre-gl/maplibre-gl.js']) {
      const [fromDeno, fromNode] = await Promise.all([rawRequest(`${deno.url}${route}`), rawRequest(`${node.url}${route}`)]);
      expect(fromDeno.status).toBe(200);
      expect(header(fromDeno, 'etag')).toBe(header(fromNode, 'etag'));
      expect(fromDeno.body.equals(fromNode.body)).toBe(true);
    }
    expect((await rawRequest(`${deno.url}/viewer/countries`)).status).toBe(200);
  });

  it('answers hostile clients as Node does: 405, 406, and a client leaving a stream is not an error', async () => {
    const propfind = await rawRequest(`${deno.url}/`, { method: 'PROPFIND' });
    expect(propfind.status).toBe(405);
    expect(header(propfind, 'allow')).toBe('GET, HEAD, OPTIONS');
    const refused = await rawRequest(`${deno.url}/`, { headers: { 'Accept-Encoding': 'identity;q=0' } });
    expect(refused.status).toBe(406);
    expect(header(refused, 'cache-control')).toBe('no-store');
    const sse = await openSse(`${deno.url}/api/tile-version/events`);
    await sse.until((events) => events.length >= 1);
    sse.close();
    await waitFor(
      async () => (await rawRequest(`${deno.url}/metrics`)).body.toString().includes('tilestamp_event_streams 0'),
      'Deno to close the stream',
    );
    expect(deno.stdout.filter((line) => line.includes('"level":50'))).toEqual([]);
  });

  it('answers 503 with Retry-After at once for a file locked by another process, and shows it in /health', async () => {
    const lock = await holdExclusiveLock(join(dir, 'world_cities.mbtiles'));
    try {
      const res = await rawRequest(`${deno.url}/tiles/world_cities/0/0/0.pbf`);
      expect(res.status).toBe(503);
      expect(header(res, 'retry-after')).toBe('1');
      const health = json<{ tilesets: Record<string, { busy?: { count: number } }> }>(await rawRequest(`${deno.url}/health`));
      expect(health.tilesets.world_cities?.busy).toMatchObject({ count: 1 });
    } finally {
      await lock.release();
    }
    expect((await rawRequest(`${deno.url}/tiles/world_cities/0/0/0.pbf`)).status).toBe(200);
  });

  // Last: it changes the folder both servers read.
  it('hot-reloads a file renamed over the served one (chokidar and the poll under Deno)', async () => {
    const versionAt = async (url: string) =>
      json<{ tilesets: Record<string, string> }>(await rawRequest(`${url}/api/tile-version`)).tilesets.countries;
    const before = await versionAt(deno.url);
    copyFixture('countries-v2.mbtiles', dir, '.countries.staged');
    renameSync(join(dir, '.countries.staged'), join(dir, 'countries.mbtiles'));
    await waitFor(async () => (await versionAt(deno.url)) !== before, 'Deno to serve the new version');
    await node.rescan('test'); // the Node server here does not watch
    expect(await versionAt(deno.url)).toBe(await versionAt(node.url));
    const stored = readStoredTiles(join(dir, 'countries.mbtiles')).find((t) => t.z === 0)!;
    expect((await getGzip(`${deno.url}/tiles/countries/0/0/0.pbf`)).body.equals(stored.data)).toBe(true);
  });
});

describe('under Deno, never a wrong byte', () => {
  it('a served file rewritten in place (mtime put back), then a file renamed over: 503, never the new bytes under the old version', async () => {
    const own = tempDir();
    const path = copyFixture('world_cities.mbtiles', own);
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(path, mtime, mtime);
    const server = await spawnServer(
      DENO,
      ['task', '--quiet', 'start', '--data', own, '--port', '0', '--host', '127.0.0.1', '--no-watch'],
      {},
      120_000,
    );
    try {
      const version = json<{ tilesets: Record<string, string> }>(await rawRequest(`${server.url}/api/tile-version`)).tilesets
        .world_cities as string;
      const { after } = rewriteInPlace(path);
      renameCopyOver(writeBytes(join(tempDir(), 'bad.mbtiles'), 'not an MBTiles file'), path);
      const ask = async () => {
        const res = await getGzip(`${server.url}/tiles/world_cities/0/0/0.pbf?v=${version}`);
        expect(sha1(res.body)).not.toBe(after);
        expect(res.status).toBe(503);
        expect(header(res, 'cache-control')).toBe('no-store');
        expect(header(res, 'retry-after')).toBe('1');
      };
      for (let i = 0; i < 3; i++) await ask();
      server.child.kill('SIGHUP'); // the rescan: the file renamed over is rejected
      await waitFor(async () => {
        const health = json<{ tilesets: Record<string, { rejected?: unknown }> }>(await rawRequest(`${server.url}/health`));
        return health.tilesets.world_cities?.rejected !== undefined;
      }, 'the rejection');
      for (let i = 0; i < 3; i++) await ask();
    } finally {
      await server.stop();
      removeDir(own);
    }
  }, 180_000);

  it.each([
    ['written in place during the digest: stays loading, not ready, then is taken', 'torn', { state: 'loading', ready: false }],
    [
      'locked during the digest (SQLITE_BUSY by its code): waiting, then taken',
      'locked',
      { state: 'waiting', reason: 'cannot be opened for now (locked by another process)' },
    ],
  ])(
    'a file %s (node:sqlite, Deno worker threads)',
    (_, scenario, during) => {
      const own = tempDir();
      try {
        copyFixture('world_cities.mbtiles', own);
        const out = execFileSync(
          DENO,
          [
            'run',
            '--allow-read',
            '--allow-write',
            '--allow-env',
            '--allow-sys',
            join(REPO, 'test/helpers/deno-digest-change.ts'),
            own,
            scenario,
          ],
          { encoding: 'utf8', timeout: 120_000 },
        );
        const result = JSON.parse(out.trim().split('\n').pop() as string);
        expect(result.during).toMatchObject(during);
        expect(result.after).toEqual({ state: 'ok', ready: true });
        expect(result.outcomes).toEqual(['added']);
      } finally {
        removeDir(own);
      }
    },
    180_000,
  );
});
