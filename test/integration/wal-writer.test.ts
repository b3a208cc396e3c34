import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMbtilesSource, openValidated } from '../../src/source/mbtiles-source.ts';
import { VersionState } from '../../src/source/version-state.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { copyFixture, execSql, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { memoryLogger, startTestServer, type TestServer } from '../helpers/server.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// A WAL-mode file takes a writer's commits into its -wal; the file itself is not written until a
// checkpoint. A reader sees those commits at once, so the served handle must notice the -wal.
describe('a WAL-mode file committed to in place while it is served', () => {
  for (const cacheBytes of [0, 64 * 1024 * 1024]) {
    it(`never passes the writer's bytes off as the served version (cache ${cacheBytes} bytes)`, async () => {
      const dir = tempDir();
      cleanups.push(() => removeDir(dir));
      const path = copyFixture('world_cities.mbtiles', dir);
      execSql(path, 'PRAGMA journal_mode = WAL');
      const server: TestServer = await startTestServer(dir, { cacheBytes });
      cleanups.push(() => server.close());
      const version = ((await (await server.get('/api/tile-version')).json()) as { tilesets: Record<string, string> }).tilesets
        .world_cities as string;
      const [stored, unasked] = readStoredTiles(path).filter((t) => t.z === 1);
      if (stored === undefined || unasked === undefined) throw new Error('the fixture has two tiles at zoom 1');
      const urlOf = (t: { z: number; x: number; y: number }) =>
        `/tiles/world_cities/${t.z}/${t.x}/${2 ** t.z - 1 - t.y}.pbf?v=${version}`;
      const url = urlOf(stored);
      const before = await server.get(url, { headers: { 'accept-encoding': 'identity' } });
      expect(before.status).toBe(200);
      const original = Buffer.from(await before.arrayBuffer());

      // A writer commits new bytes for that tile and keeps its connection open (no checkpoint).
      const writer = new Database(path);
      cleanups.push(() => void writer.close());
      const update = writer.prepare('UPDATE tiles SET tile_data = ? WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?');
      for (const t of [stored, unasked]) update.run(Buffer.from('not the served version'), t.z, t.x, t.y);

      for (const other of [url, urlOf(unasked)]) {
        const res = await server.get(other, { headers: { 'accept-encoding': 'identity' } });
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status === 200 && other === url) expect(body.equals(original)).toBe(true);
        expect(body.includes('not the served version')).toBe(false);
        expect([200, 204, 503]).toContain(res.status);
      }
    });
  }
});

describe('a WAL-mode file whose -wal holds commits', () => {
  it('is not loaded under the version remembered for the file without them', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const path = copyFixture('world_cities.mbtiles', dir);
    execSql(path, 'PRAGMA journal_mode = WAL');
    const state = new VersionState(join(dir, 'state'), memoryLogger());
    const first = await loadMbtilesSource(betterSqliteDriver, 'world_cities', path, undefined, { state });
    first.close();
    // Commits that stay in the -wal: the file itself (the state file's key) does not move.
    const writer = new Database(path);
    cleanups.push(() => void writer.close());
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare('UPDATE tiles SET tile_data = ? WHERE zoom_level = 1').run(Buffer.from('not the served version'));
    const loaded = await loadMbtilesSource(betterSqliteDriver, 'world_cities', path, undefined, { state }).then(
      (source) => {
        source.close();
        return source.version;
      },
      (error: Error) => `${error.name}: ${error.message}`,
    );
    expect(loaded).not.toBe(first.version);
  });

  it('is not opened by a worker of --workers under the version the primary found without them', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const path = copyFixture('world_cities.mbtiles', dir);
    execSql(path, 'PRAGMA journal_mode = WAL');
    const primary = await loadMbtilesSource(betterSqliteDriver, 'world_cities', path);
    cleanups.push(() => primary.close());
    const writer = new Database(path);
    cleanups.push(() => void writer.close());
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare('UPDATE tiles SET tile_data = ? WHERE zoom_level = 1').run(Buffer.from('not the served version'));
    const found = { version: primary.version, format: primary.format, info: primary.info, warnings: [] };
    expect(() => openValidated(betterSqliteDriver, 'world_cities', path, found)).toThrow(/-wal with content/);
  });
});
