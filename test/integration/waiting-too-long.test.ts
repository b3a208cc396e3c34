import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { WAITING_TOO_LONG_MS } from '../../src/source/waiting.ts';
import { ManualClock } from '../helpers/clock.ts';
import { copyFixture, execSql, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

interface Health {
  status: string;
  reason?: string;
  tilesets: Record<string, { state: string; reason?: string; tooLong?: boolean; hint?: string }>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const health = async (server: TestServer) => json<Health>(await rawRequest(`${server.url}/health`));

describe('a tileset that keeps waiting', () => {
  it(`makes /health degraded once it has waited longer than ${WAITING_TOO_LONG_MS / 1000} s, with the reason and a hint`, async () => {
    // A WAL-mode file whose writer left a -wal with content beside it: what a crashed writer
    // leaves on a read-only mount, where nothing will ever checkpoint it.
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const path = copyFixture('world_cities.mbtiles', dir);
    execSql(path, 'PRAGMA journal_mode = WAL');
    writeFileSync(`${path}-wal`, 'frames of a writer that never came back');
    const clock = new ManualClock();
    const server = await startTestServer(dir, { settleMs: 1_000 }, { clock });
    cleanups.push(() => server.close());
    const before = await health(server);
    expect(before.tilesets.world_cities).toMatchObject({ state: 'waiting', reason: 'a -wal file with content beside the file' });
    expect(before.tilesets.world_cities?.hint).toContain("sqlite3 FILE 'PRAGMA journal_mode=DELETE'");
    expect(before.status).toBe('ok');
    await waitFor(async () => {
      clock.advance(10_000);
      return (await health(server)).status === 'degraded';
    }, 'the wait to count as too long');
    expect(clock.now()).toBeGreaterThanOrEqual(WAITING_TOO_LONG_MS);
    const after = await health(server);
    expect(after.reason).toBe('tileset world_cities has been waiting too long: a -wal file with content beside the file');
    expect(after.tilesets.world_cities).toMatchObject({ state: 'waiting', tooLong: true });
    expect(server.logs.filter((l) => l.message === 'tileset waiting too long')).toHaveLength(1);
  });
});
