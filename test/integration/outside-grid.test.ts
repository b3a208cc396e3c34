import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, execSql, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { spawnServer } from '../helpers/process.ts';
import { startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

// Tiles stored off the z/x/y grid (GDAL writes such rows for geometry beyond Web Mercator's
// ±85.05°) can never be served: the digest counts them, one warning says so, /health shows the
// count, and they still count in the version.

let dir: string;

beforeAll(() => {
  dir = tempDir('tilestamp-outside-grid-');
});

afterAll(() => removeDir(dir));

/** Four rows no URL names: a column of 2^z, a negative row, a row of 2^z, a zoom past 30. */
const OFF_GRID = [
  [1, 2, 0],
  [1, 0, -1],
  [2, 0, 4],
  [31, 0, 0],
];

/** world_cities.mbtiles under `name` in `data`, with the four off-grid rows holding `bytes`. */
function withOffGridRows(data: string, name: string, bytes: string): void {
  const path = copyFixture('world_cities.mbtiles', data, name);
  const values = OFF_GRID.map(([z, x, y]) => `(${z}, ${x}, ${y}, X'${bytes}')`).join(', ');
  execSql(path, `INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES ${values}`);
}

interface Health {
  worker?: { id: number };
  tilesets: Record<string, { state: string; version: string; outside_grid?: number; warnings?: string[] }>;
}

async function health(server: { get(path: string): Promise<Response> }): Promise<Health> {
  return (await (await server.get('/health')).json()) as Health;
}

describe('tiles off the z/x/y grid', () => {
  it('are counted: outside_grid in /health, one warning per tileset, and they count in the version', async () => {
    const data = join(dir, 'counted');
    copyFixture('world_cities.mbtiles', data, 'clean.mbtiles');
    withOffGridRows(data, 'off.mbtiles', '1a2b3c');
    withOffGridRows(data, 'off-changed.mbtiles', '1a2b3d');
    const server = await startTestServer(data);
    try {
      const { tilesets } = await health(server);
      expect(tilesets.clean).toMatchObject({ state: 'ok', outside_grid: 0 });
      expect(tilesets.clean?.warnings ?? []).not.toContainEqual(expect.stringMatching(/outside the z\/x\/y grid/));
      expect(tilesets.off).toMatchObject({ state: 'ok', outside_grid: 4 });
      expect(tilesets.off?.warnings).toContainEqual(expect.stringMatching(/^4 of 200 tiles lie outside the z\/x\/y grid/));
      const warned = server.logs.filter((l) => l.level === 'warn' && /outside the z\/x\/y grid/.test(l.message));
      expect(warned.map((l) => l.fields.tileset).sort()).toEqual(['off', 'off-changed']);
      // The rows are in the version: changing one byte of them alone gives another version.
      expect(new Set([tilesets.clean?.version, tilesets.off?.version, tilesets['off-changed']?.version]).size).toBe(3);
      // And they are still not served.
      expect((await server.get('/tiles/off/1/2/1.pbf')).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('are still reported after a restart that takes the version from the state dir', async () => {
    const data = join(dir, 'remembered');
    const stateDir = join(dir, 'remembered-state');
    withOffGridRows(data, 'off.mbtiles', '1a2b3c');
    const first = await startTestServer(data, { stateDir });
    const before = await health(first).finally(() => first.close());
    const second = await startTestServer(data, { stateDir });
    try {
      const loaded = second.logs.find((l) => l.message === 'tileset loaded' && l.fields.tileset === 'off');
      expect(loaded?.fields.remembered).toBe(true);
      const after = await health(second);
      expect(after.tilesets.off).toMatchObject({ version: before.tilesets.off?.version, outside_grid: 4 });
      expect(second.logs.filter((l) => l.level === 'warn' && /outside the z\/x\/y grid/.test(l.message))).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('are not counted under --version-from file: no rows are read, and /health has no outside_grid', async () => {
    const data = join(dir, 'file');
    withOffGridRows(data, 'off.mbtiles', '1a2b3c');
    const server = await startTestServer(data, { versioning: { from: 'file', key: undefined } });
    try {
      const { tilesets } = await health(server);
      expect(tilesets.off?.state).toBe('ok');
      expect(tilesets.off).not.toHaveProperty('outside_grid');
    } finally {
      await server.close();
    }
  });

  it('are reported by every worker of --workers 2, as the primary counted them', async () => {
    const data = join(dir, 'workers');
    withOffGridRows(data, 'off.mbtiles', '1a2b3c');
    const flags = '--port 0 --host 127.0.0.1 --workers 2'.split(' ');
    const cli = [join(REPO, 'dist/cli.js'), 'serve', '--data', data, '--state-dir', '', ...flags];
    const server = await spawnServer(process.execPath, cli);
    try {
      const seen = new Map<number, Health['tilesets'][string] | undefined>();
      await waitFor(
        async () => {
          // A fresh connection each time: the kernel hands each to one of the workers.
          const answer = json<Health>(await rawRequest(`${server.url}/health`, { headers: { Connection: 'close' } }));
          if (answer.worker !== undefined && answer.tilesets.off?.state === 'ok') seen.set(answer.worker.id, answer.tilesets.off);
          return seen.size === 2;
        },
        "both workers' /health with the tileset served",
        30_000,
      );
      for (const tileset of seen.values()) expect(tileset).toMatchObject({ outside_grid: 4 });
    } finally {
      await server.stop();
    }
  });
});
