import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tileCoords } from '../../bench/lib/datasets.mjs';
import { REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { header, rawRequest } from '../helpers/http.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';

// The benchmark's reference servers must answer what a tile server answers (the file's bytes,
// negotiated as the bench asks, ETag, 304), or the ratios to them mean nothing.
const FILE = join(REPO, 'data', 'countries.mbtiles');

describe.each([
  ['bare', 'gzip'],
  ['koa', 'gzip'],
  ['sqlite', 'gzip'],
  ['bare', ''],
  ['koa', ''],
  ['sqlite', ''],
])('bench floor server %s, Accept-Encoding %j', (kind, acceptEncoding) => {
  let dir: string;
  let server: ServerProcess;
  const coords = tileCoords(FILE, 3);
  const paths = coords.map(([z, x, y]) => `/tiles/countries/${z}/${x}/${y}.pbf?v=abc`);
  const stored = (i: number) => {
    const [z, x, , row] = coords[i] ?? [];
    return readStoredTiles(FILE).find((t) => t.z === z && t.x === x && t.y === row)?.data as Buffer;
  };
  const headers: Record<string, string> = acceptEncoding ? { 'Accept-Encoding': acceptEncoding } : {};

  beforeAll(async () => {
    dir = tempDir('bench-floor-');
    const manifest = join(dir, 'floor.json');
    const tiles = coords.map(([z, x, , row], i) => [paths[i], z, x, row]);
    writeFileSync(manifest, JSON.stringify({ file: FILE, contentType: 'application/x-protobuf', acceptEncoding, tiles }));
    server = await spawnServer(process.execPath, [join(REPO, 'bench', 'floor-server.mjs'), kind, manifest, '0']);
  });
  afterAll(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('answers each walked URL with the stored tile, as the Accept-Encoding negotiates it', async () => {
    for (const [i, path] of paths.entries()) {
      const res = await rawRequest(`${server.url}${path}`, { headers });
      expect(res.status).toBe(200);
      expect(header(res, 'content-type')).toBe('application/x-protobuf');
      if (acceptEncoding) {
        expect(header(res, 'content-encoding')).toBe('gzip');
        expect(res.body.equals(stored(i))).toBe(true);
      } else {
        expect(header(res, 'content-encoding')).toBeUndefined();
        expect(res.body.equals(gunzipSync(stored(i)))).toBe(true);
      }
    }
  });

  it('answers 304 to its ETag (the SQLite floor sends none), 404 to a URL it does not hold', async () => {
    const first = await rawRequest(`${server.url}${paths[0]}`, { headers });
    expect(header(first, 'cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = header(first, 'etag');
    if (kind === 'sqlite') {
      expect(etag).toBeUndefined();
    } else {
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await rawRequest(`${server.url}${paths[0]}`, { headers: { ...headers, 'If-None-Match': etag as string } });
      expect(again.status).toBe(304);
      expect(again.body).toHaveLength(0);
    }
    expect((await rawRequest(`${server.url}/tiles/countries/9/0/0.pbf`)).status).toBe(404);
  });
});
