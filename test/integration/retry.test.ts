import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RETRY_MAX_MS, retryDelay } from '../../src/source/reloader.ts';
import { ManualClock } from '../helpers/clock.ts';
import { copyFixture, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { holdExclusiveLock } from '../helpers/lock.ts';
import { spawnServer } from '../helpers/process.ts';
import { needsRoot } from '../helpers/root.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

interface Health {
  status: string;
  reason?: string;
  tilesets: Record<string, { state: string; reason?: string }>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const health = async (url: string) => json<Health>(await rawRequest(`${url}/health`));

describe('retryDelay', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [6, 32_000],
    [7, 60_000],
    [30, 60_000],
  ])('attempt %i failed: the next after %i ms', (attempts, ms) => {
    expect(retryDelay(attempts)).toBe(ms);
  });
});

describe('a transient failure at load (a lock held by another process)', () => {
  it('shows the tileset as waiting and loads it once the lock goes, with no change to the file', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const path = copyFixture('world_cities.mbtiles', dir);
    const lock = await holdExclusiveLock(path);
    let released = false;
    cleanups.push(() => (released ? undefined : lock.release()));
    const server = await startTestServer(dir);
    cleanups.push(() => server.close());
    const entry = (await health(server.url)).tilesets.world_cities;
    expect(entry).toMatchObject({ state: 'waiting', reason: 'cannot be opened for now (locked by another process)' });
    expect((await rawRequest(`${server.url}/tiles/world_cities/0/0/0.pbf`)).status).toBe(503);
    await lock.release();
    released = true;
    await waitFor(async () => (await health(server.url)).tilesets.world_cities?.state === 'ok', 'the retry to load it');
  });

  it('retries after 1 s, 2 s, 4 s, … up to 60 s (on an injected clock), never before', async () => {
    const dir = tempDir();
    cleanups.push(() => removeDir(dir));
    const path = copyFixture('world_cities.mbtiles', dir);
    const lock = await holdExclusiveLock(path);
    let released = false;
    cleanups.push(() => (released ? undefined : lock.release()));
    const clock = new ManualClock();
    const server: TestServer = await startTestServer(dir, { settleMs: 0 }, { clock });
    cleanups.push(() => server.close());
    const attempts = () => server.registry.get('world_cities')?.retry?.attempts ?? 0;
    const waits: number[] = [];
    for (let n = 1; n <= 9; n++) {
      expect(attempts()).toBe(n);
      const wait = clock.pending[0] as number;
      waits.push(wait);
      clock.advance(wait - 1);
      expect(attempts(), 'not retried before its time').toBe(n);
      clock.advance(1);
      await waitFor(() => attempts() === n + 1, `attempt ${n + 1}`);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, RETRY_MAX_MS, RETRY_MAX_MS, RETRY_MAX_MS]);
    await lock.release();
    released = true;
    clock.advance(RETRY_MAX_MS);
    await waitFor(() => server.registry.get('world_cities')?.state === 'ok', 'the load once the lock is gone');
  });
});

describe('a data folder the server cannot read (and a file it cannot open)', () => {
  // As in bad-files.test.ts: root without the two capabilities that let it read everything.
  it('reports it in /health and /ready, logs one error, and serves the files once readable', async (ctx) => {
    needsRoot(ctx, 'the server runs as root without DAC override to meet a folder it cannot read');
    const parent = tempDir();
    cleanups.push(() => removeDir(parent));
    const data = join(parent, 'data');
    mkdirSync(data);
    copyFixture('world_cities.mbtiles', data);
    const closed = copyFixture('countries.mbtiles', data, 'closed.mbtiles');
    chmodSync(closed, 0o000);
    chownSync(data, 65534, 65534);
    chmodSync(data, 0o700);
    const dropped = '-dac_override,-dac_read_search';
    const server = await spawnServer(
      'setpriv',
      [`--inh-caps=${dropped}`, `--bounding-set=${dropped}`, 'node', join(REPO, 'dist/cli.js'), 'serve'],
      { TILESTAMP_DATA: data, TILESTAMP_PORT: '0', TILESTAMP_HOST: '127.0.0.1' },
      60_000,
      REPO,
      false,
    );
    cleanups.push(async () => void (await server.stop()));
    await waitFor(async () => (await health(server.url)).status === 'degraded', 'the folder to be reported');
    expect((await health(server.url)).reason).toBe('data folder cannot be read (EACCES)');
    const ready = await rawRequest(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(json<{ error: string }>(ready).error).toBe('data folder cannot be read (EACCES)');
    chmodSync(data, 0o755);
    await waitFor(async () => (await rawRequest(`${server.url}/ready`)).status === 200, 'the folder to be read', 30_000);
    const seen = await health(server.url);
    expect(seen.status).toBe('ok');
    expect(seen.tilesets.world_cities?.state).toBe('ok');
    expect(seen.tilesets.closed).toMatchObject({ state: 'waiting', reason: 'cannot be opened for now (EACCES)' });
    chmodSync(closed, 0o644);
    await waitFor(async () => (await health(server.url)).tilesets.closed?.state === 'ok', 'the file once readable', 30_000);
    const lines = server.stdout.map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.msg === 'data folder cannot be read; retrying')).toHaveLength(1);
    expect(lines.filter((l) => l.level >= 50)).toHaveLength(1);
  });
});
