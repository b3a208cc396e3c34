import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFixture, execSql, FIXTURES, REPO, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { getGzip, json, rawRequest } from '../helpers/http.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { needsRoot } from '../helpers/root.ts';

const DENO = join(REPO, 'node_modules/deno/deno');
const DROPPED = '-dac_override,-dac_read_search';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A folder the server cannot write (mode 555; the server is root without DAC override) holding a WAL-mode file. */
function readOnlyFolderWithWalFile(): string {
  const parent = tempDir();
  cleanups.push(() => removeDir(parent));
  const data = join(parent, 'data');
  mkdirSync(data);
  const path = copyFixture('world_cities.mbtiles', data);
  execSql(path, 'PRAGMA journal_mode = WAL');
  expect(existsSync(`${path}-wal`) || existsSync(`${path}-shm`)).toBe(false); // checkpointed and removed on close
  chmodSync(data, 0o555);
  cleanups.push(() => chmodSync(data, 0o755));
  return data;
}

async function expectServed(server: ServerProcess, data: string): Promise<void> {
  const health = json<{ tilesets: Record<string, { state: string; reason?: string }> }>(await rawRequest(`${server.url}/health`));
  expect(health.tilesets.world_cities, JSON.stringify(health)).toMatchObject({ state: 'ok' });
  const stored = readStoredTiles(join(FIXTURES, 'world_cities.mbtiles')).find((t) => t.z === 1)!;
  const tile = await getGzip(`${server.url}/tiles/world_cities/${stored.z}/${stored.x}/${2 ** stored.z - 1 - stored.y}.pbf`);
  expect(tile.status).toBe(200);
  expect(tile.body.equals(stored.data)).toBe(true);
  expect(existsSync(join(data, 'world_cities.mbtiles-shm'))).toBe(false);
}

// Root writes anywhere, so the servers run as root without the capabilities that let it.
describe('a WAL-mode file in a folder the server cannot write', () => {
  const why = 'the server runs as root without DAC override to meet a folder it cannot write';
  it('is served under Node', async (ctx) => {
    needsRoot(ctx, why);
    const data = readOnlyFolderWithWalFile();
    const server = await spawnServer(
      'setpriv',
      [`--inh-caps=${DROPPED}`, `--bounding-set=${DROPPED}`, 'node', join(REPO, 'dist/cli.js'), 'serve'],
      { TILESTAMP_DATA: data, TILESTAMP_PORT: '0', TILESTAMP_HOST: '127.0.0.1' },
    );
    cleanups.push(async () => void (await server.stop()));
    await expectServed(server, data);
  });

  it('is served under Deno', async (ctx) => {
    needsRoot(ctx, why);
    const data = readOnlyFolderWithWalFile();
    const server = await spawnServer(
      'setpriv',
      [
        `--inh-caps=${DROPPED}`,
        `--bounding-set=${DROPPED}`,
        DENO,
        'task',
        '--quiet',
        'start',
        '--data',
        data,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
      ],
      {},
      120_000,
    );
    cleanups.push(async () => void (await server.stop()));
    await expectServed(server, data);
  }, 180_000);
});
