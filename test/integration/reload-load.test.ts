import { copyFileSync, renameSync, utimesSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFiles } from '../helpers/fds.ts';
import { copyFixture, FIXTURES, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { rewriteInPlace, sha1 } from '../helpers/rewrite.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { sleep, waitFor } from '../helpers/wait.ts';

const tilesOf = (fixture: string) =>
  new Map(readStoredTiles(join(FIXTURES, fixture)).map((t) => [`${t.z}/${t.x}/${2 ** t.z - 1 - t.y}`, t.data]));
const V1 = tilesOf('countries.mbtiles');
const V2 = tilesOf('countries-v2.mbtiles');

let dir: string;
let server: TestServer;

beforeAll(async () => {
  dir = tempDir();
  const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  utimesSync(copyFixture('countries.mbtiles', dir), mtime, mtime);
  server = await startTestServer(dir, { watch: true, pollMs: 500, settleMs: 100 });
});

afterAll(async () => {
  await server?.close();
  removeDir(dir);
});

/**
 * Stages a fixture beside the served file and renames it over: how a pipeline publishes. The
 * staged file gets a whole-second mtime, so a rewrite in place can put it back exactly.
 */
function publish(fixture: string, into = dir): void {
  const staged = join(into, `.staged-${process.hrtime.bigint()}.tmp`);
  copyFileSync(join(FIXTURES, fixture), staged);
  const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  utimesSync(staged, mtime, mtime);
  renameSync(staged, join(into, 'countries.mbtiles'));
}

/** A data folder of its own holding countries.mbtiles, with a whole-second mtime. */
function ownFolder(): string {
  const own = tempDir();
  const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  utimesSync(copyFixture('countries.mbtiles', own), mtime, mtime);
  return own;
}

function get(
  agent: Agent,
  base: string,
  path: string,
): Promise<{ status: number; version: string; body: Buffer; cacheControl: string; retryAfter: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { agent, headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          version: String(res.headers['x-tilestamp-version']),
          body: Buffer.concat(chunks),
          cacheControl: String(res.headers['cache-control']),
          retryAfter: String(res.headers['retry-after']),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('swapping under load', () => {
  it.each([
    ['renamed over', false],
    ['rewritten in place (tiles changed, mtime put back), then renamed over', true],
  ])(
    'serves only whole tiles of one of the two files while the file is swapped back and forth 24 times: %s',
    async (_, rewrite) => {
      // The rewrite changes a tile in place: with no hot-tile cache every read goes to the file, so
      // a read of the rewritten inode cannot hide behind a copy cached before the rewrite.
      // It runs on a folder of its own, so the shared server's reloads neither lag behind it nor
      // hold its replaced files open when the descriptors are counted.
      const folder = rewrite ? ownFolder() : dir;
      const target = rewrite ? await startTestServer(folder, { watch: true, pollMs: 500, settleMs: 100, cacheBytes: 0 }) : server;
      const versionV1 = Object.values(target.registry.versions())[0] as string;
      const baseline = openFiles().length;
      const agent = new Agent({ keepAlive: true, maxSockets: 8 });
      const seen = { requests: 0, byStatus: new Map<number, number>(), errors: [] as string[], mismatches: [] as string[] };
      let versionV2: string | undefined;
      const answers: { key: string; status: number; version: string; sha1: string }[] = [];
      let stop = false;
      const deadline = Date.now() + 90_000;
      const client = async (n: number) => {
        for (let i = n; !stop && Date.now() < deadline && seen.requests < 100_000; i += 8) {
          const z = i % 6;
          const x = (i * 7) % 2 ** z;
          const y = (i * 3) % 2 ** z;
          const key = `${z}/${x}/${y}`;
          seen.requests++;
          try {
            const res = await get(agent, target.url, `/tiles/countries/${key}.pbf`);
            seen.byStatus.set(res.status, (seen.byStatus.get(res.status) ?? 0) + 1);
            if (res.status === 503 && (res.cacheControl !== 'no-store' || res.retryAfter !== '1')) {
              seen.mismatches.push(`${key}: 503 with Cache-Control ${res.cacheControl}, Retry-After ${res.retryAfter}`);
            }
            if (res.status !== 503) answers.push({ key, status: res.status, version: res.version, sha1: sha1(res.body) });
          } catch (error) {
            seen.errors.push((error as Error).message);
          }
        }
      };
      const clients = Array.from({ length: 8 }, (_, n) => client(n));
      let swaps = 0;
      for (; swaps < 24; swaps++) {
        const before = Object.values(target.registry.versions())[0];
        // In place first: the served inode's z0 tile changes under it, which nothing may serve.
        if (rewrite) rewriteInPlace(join(folder, 'countries.mbtiles'));
        publish(swaps % 2 === 0 ? 'countries-v2.mbtiles' : 'countries.mbtiles', folder);
        await waitFor(() => Object.values(target.registry.versions())[0] !== before, `swap ${swaps + 1}`);
        if (versionV2 === undefined && swaps === 0) versionV2 = Object.values(target.registry.versions())[0];
        await sleep(50);
      }
      stop = true;
      await Promise.all(clients);
      agent.destroy();
      if (target !== server) await target.close();
      // Each answer is exactly the tile (or the absence) of the file its version header names, by SHA-1.
      for (const { key, status, version, sha1: got } of answers) {
        const file = version === versionV1 ? V1 : version === versionV2 ? V2 : undefined;
        const want = file?.get(key);
        if (file === undefined) seen.mismatches.push(`${key}: unknown version ${version}`);
        else if (status === 200 ? want === undefined || sha1(want) !== got : status !== 204 || want !== undefined) {
          seen.mismatches.push(`${key}: ${status}, not what the file of version ${version} holds there`);
        }
      }
      expect(swaps).toBe(24);
      expect(seen.errors).toEqual([]);
      expect(seen.mismatches).toEqual([]);
      // 503 (no-store) only between a rename and the swap, for tiles not in the hot-tile cache.
      expect([...seen.byStatus.keys()].filter((status) => ![200, 204, 503].includes(status))).toEqual([]);
      expect(seen.byStatus.get(200)).toBeGreaterThan(1_000);
      // Guard descriptors are closed off the event loop: wait for that, rather than for a while.
      await waitFor(() => !openFiles().some((f) => f.includes('(deleted)')), 'the replaced files to be closed');
      await waitFor(() => openFiles().length <= baseline, `descriptors back to ${baseline} (now ${openFiles().length})`);
      if (rewrite) removeDir(folder);
    },
  );

  it('leaks no descriptor over hundreds of swaps', async () => {
    const baseline = openFiles().length;
    for (let i = 0; i < 200; i++) {
      const before = Object.values(server.registry.versions())[0];
      // The tests before ended on countries.mbtiles, so this starts with the other file.
      publish(i % 2 === 0 ? 'countries-v2.mbtiles' : 'countries.mbtiles');
      await server.rescan('test');
      if (Object.values(server.registry.versions())[0] === before) {
        await waitFor(() => Object.values(server.registry.versions())[0] !== before, `swap ${i + 1}`);
      }
    }
    // Guard descriptors are closed off the event loop: wait for that, rather than for a while.
    await waitFor(() => !openFiles().some((f) => f.includes('(deleted)')), 'the replaced files to be closed');
    // Digest threads close their connection when told the job ended, a message after the result.
    await waitFor(() => openFiles().filter((f) => f.endsWith('.mbtiles')).length <= 2, 'the digest connections to close');
    const now = openFiles();
    expect(now.filter((f) => f.includes('(deleted)'))).toEqual([]);
    // The serving source holds two: SQLite's connection and the guard descriptor.
    expect(now.filter((f) => f.endsWith('.mbtiles'))).toEqual([join(dir, 'countries.mbtiles'), join(dir, 'countries.mbtiles')]);
    expect(now.length).toBeLessThanOrEqual(baseline);
  }, 180_000);
});
