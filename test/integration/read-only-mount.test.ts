import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFixture, execSql, FIXTURES, REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { getGzip, json, rawRequest } from '../helpers/http.ts';
import { readOnlyBindMount } from '../helpers/mount.ts';
import { spawnServer } from '../helpers/process.ts';
import { startTestServer } from '../helpers/server.ts';

const DENO = join(REPO, 'node_modules/deno/deno');

// Made when the file is collected, so that a refusal can skip the tests with its reason.
const source = tempDir();
const walPath = copyFixture('world_cities.mbtiles', source);
execSql(walPath, 'PRAGMA journal_mode = WAL');
const mount = readOnlyBindMount(source, join(tempDir(), 'ro'));

afterAll(() => {
  if (mount.ok) mount.unmount();
  removeDir(source);
});

const stored = readStoredTiles(join(FIXTURES, 'world_cities.mbtiles')).find((t) => t.z === 1)!;
const tileUrl = (url: string) => `${url}/tiles/world_cities/${stored.z}/${stored.x}/${2 ** stored.z - 1 - stored.y}.pbf`;

describe.skipIf(!mount.ok)(`a WAL-mode file on a read-only bind mount${mount.ok ? '' : ` (skipped: ${mount.reason})`}`, () => {
  const data = mount.ok ? mount.path : '';

  it('is really on a read-only file system (the premise)', () => {
    expect(() => writeFileSync(join(data, 'probe'), 'x')).toThrow(/EROFS/);
  });

  it('is served under Node (SQLITE_CANTOPEN is the read-only WAL case), and /health says ok', async () => {
    const server = await startTestServer(data);
    try {
      const health = json<{ status: string; tilesets: Record<string, { state: string }> }>(
        await rawRequest(`${server.url}/health`),
      );
      expect(health.tilesets.world_cities, JSON.stringify(health)).toMatchObject({ state: 'ok' });
      expect(health.status).toBe('ok');
      const tile = await getGzip(tileUrl(server.url));
      expect(tile.status).toBe(200);
      expect(tile.body.equals(stored.data)).toBe(true);
      expect(existsSync(join(data, 'world_cities.mbtiles-shm'))).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('is served under Deno', async () => {
    const server = await spawnServer(
      DENO,
      ['task', '--quiet', 'start', '--data', data, '--port', '0', '--host', '127.0.0.1'],
      {},
      120_000,
    );
    try {
      const health = json<{ status: string; tilesets: Record<string, { state: string }> }>(
        await rawRequest(`${server.url}/health`),
      );
      expect(health.tilesets.world_cities, JSON.stringify(health)).toMatchObject({ state: 'ok' });
      const tile = await getGzip(tileUrl(server.url));
      expect(tile.status).toBe(200);
      expect(tile.body.equals(stored.data)).toBe(true);
    } finally {
      await server.stop();
    }
  }, 180_000);
});
