import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFixture, FIXTURES, readStoredTiles, removeDir, tempDir, writeBytes } from '../helpers/fixtures.ts';
import { getGzip, header, json, rawRequest } from '../helpers/http.ts';
import { renameCopyOver, rewriteInPlace, sha1 } from '../helpers/rewrite.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A served world_cities that nothing reloads until the test says (no watcher, no poll). */
async function setup(cacheBytes: number) {
  const dir = tempDir();
  const path = copyFixture('world_cities.mbtiles', dir);
  // A whole-second mtime, so that putting it back after the rewrite restores it exactly.
  const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  utimesSync(path, mtime, mtime);
  const server = await startTestServer(dir, { watch: false, pollMs: 0, cacheBytes });
  cleanups.push(() => removeDir(dir));
  cleanups.push(() => server.close());
  return { dir, path, server, version: server.registry.source('world_cities')?.version as string };
}

const health = async (server: TestServer) =>
  json<{ status: string; tilesets: Record<string, { state: string; version?: string; rejected?: { reason: string } }> }>(
    await rawRequest(`${server.url}/health`),
  );

/**
 * The z0 tile asked for under `version`, `times` times: no answer labelled `version` may carry
 * the bytes `rewritten` names; each is either a 503 that no cache keeps or the tile of `version`.
 */
async function askUnder(server: TestServer, version: string, rewritten: string, times = 5) {
  const answers: { status: number; sha1: string; version?: string; cacheControl?: string; retryAfter?: string }[] = [];
  for (let i = 0; i < times; i++) {
    const res = await getGzip(`${server.url}/tiles/world_cities/0/0/0.pbf?v=${version}`);
    answers.push({
      status: res.status,
      sha1: sha1(res.body),
      version: header(res, 'x-tilestamp-version'),
      cacheControl: header(res, 'cache-control'),
      retryAfter: header(res, 'retry-after'),
    });
  }
  expect(answers.filter((a) => a.status === 200 && a.version === version && a.sha1 === rewritten)).toEqual([]);
  return answers;
}

describe('a served file rewritten in place (mtime put back), then a file renamed over it', () => {
  it.each([
    ['an invalid file, no hot-tile cache', 0],
    ['an invalid file, hot-tile cache', 64 * 1024 * 1024],
  ])(
    'never serves the rewritten bytes under the old version: 503 (no-store) until a good file is taken; %s',
    async (_, cacheBytes) => {
      const { path, server, version } = await setup(cacheBytes);
      const { after } = rewriteInPlace(path);
      renameCopyOver(writeBytes(join(tempDir(), 'bad.mbtiles'), 'not an MBTiles file at all'), path);
      for (const answer of await askUnder(server, version, after)) {
        expect(answer).toMatchObject({ status: 503, cacheControl: 'no-store', retryAfter: '1' });
      }
      // The new file is refused: the tileset stays unavailable (never the old inode's new bytes).
      await server.rescan('test');
      for (const answer of await askUnder(server, version, after)) {
        expect(answer).toMatchObject({ status: 503, cacheControl: 'no-store', retryAfter: '1' });
      }
      const doc = await health(server);
      expect(doc.status).toBe('degraded');
      expect(doc.tilesets.world_cities?.rejected?.reason).toMatch(/SQLite|MBTiles/i);
      // A good file renamed over: taken, and served under its own version.
      renameCopyOver(join(FIXTURES, 'countries-v2.mbtiles'), path);
      await server.rescan('test');
      const next = server.registry.source('world_cities')?.version as string;
      expect(next).not.toBe(version);
      const res = await getGzip(`${server.url}/tiles/world_cities/0/0/0.pbf?v=${next}`);
      expect(res.status).toBe(200);
      expect(header(res, 'cache-control')).toBe('public, max-age=31536000, immutable');
      const z0 = readStoredTiles(join(FIXTURES, 'countries-v2.mbtiles')).find((t) => t.z === 0)!;
      expect(sha1(res.body)).toBe(sha1(z0.data));
    },
  );

  it('a valid file renamed over: 503 until it is taken, then only its bytes under its version', async () => {
    const { path, server, version } = await setup(0);
    const { after } = rewriteInPlace(path);
    renameCopyOver(join(FIXTURES, 'world_cities.mbtiles'), path);
    for (const answer of await askUnder(server, version, after)) {
      expect(answer).toMatchObject({ status: 503, cacheControl: 'no-store', retryAfter: '1' });
    }
    // The same tiles as the first version: taken, and the first version serves again.
    await server.rescan('test');
    expect(server.registry.source('world_cities')?.version).toBe(version);
    const answers = await askUnder(server, version, after);
    const original = readStoredTiles(join(FIXTURES, 'world_cities.mbtiles')).find((t) => t.z === 0)!;
    expect(answers.map((a) => [a.status, a.sha1])).toEqual(answers.map(() => [200, sha1(original.data)]));
    expect((await health(server)).status).toBe('ok');
  });
});
