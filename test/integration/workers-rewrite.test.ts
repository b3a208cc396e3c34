import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, REPO, removeDir, tempDir, writeBytes } from '../helpers/fixtures.ts';
import { header, json, rawRequest } from '../helpers/http.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { renameCopyOver, rewriteInPlace, sha1 } from '../helpers/rewrite.ts';

let dir: string;
let server: ServerProcess;

beforeAll(async () => {
  dir = tempDir();
  const path = copyFixture('world_cities.mbtiles', dir);
  const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  utimesSync(path, mtime, mtime);
  const flags = ['--port', '0', '--host', '127.0.0.1', '--workers', '2', '--no-watch'];
  server = await spawnServer(process.execPath, [join(REPO, 'dist/cli.js'), 'serve', '--data', dir, ...flags]);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  removeDir(dir);
});

describe('--workers: a served file rewritten in place (mtime put back), then a file renamed over', () => {
  it("no worker serves the rewritten bytes under the old version: each worker's own handle answers 503", async () => {
    const version = json<{ tilesets: Record<string, string> }>(await rawRequest(`${server.url}/api/tile-version`)).tilesets
      .world_cities as string;
    const { after } = rewriteInPlace(join(dir, 'world_cities.mbtiles'));
    renameCopyOver(writeBytes(join(tempDir(), 'bad.mbtiles'), 'not an MBTiles file'), join(dir, 'world_cities.mbtiles'));
    const answers: { status: number; sha1: string; cacheControl?: string }[] = [];
    // Fresh connections, so both workers answer.
    for (let i = 0; i < 20; i++) {
      const res = await rawRequest(`${server.url}/tiles/world_cities/0/0/0.pbf?v=${version}`, {
        headers: { 'Accept-Encoding': 'gzip', Connection: 'close' },
      });
      answers.push({ status: res.status, sha1: sha1(res.body), cacheControl: header(res, 'cache-control') });
    }
    expect(answers.filter((a) => a.sha1 === after)).toEqual([]);
    expect(answers.every((a) => a.status === 503 && a.cacheControl === 'no-store')).toBe(true);
  });
});
