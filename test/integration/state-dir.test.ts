import { chmodSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_FILE } from '../../src/source/version-state.ts';
import { copyFixture, removeDir, tempDir } from '../helpers/fixtures.ts';
import { startTestServer } from '../helpers/server.ts';

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => removeDir(dir));

/** Starts and stops a server over `data`; returns the `tileset loaded` line of `id` and every warning. */
async function start(data: string, stateDir: string, id = 'countries') {
  const server = await startTestServer(data, { stateDir });
  try {
    const loaded = server.logs.find((l) => l.message === 'tileset loaded' && l.fields.tileset === id);
    const health = (await (await server.get('/health')).json()) as { status: string };
    return { loaded: loaded?.fields, health, warnings: server.logs.filter((l) => l.level === 'warn') };
  } finally {
    await server.close();
  }
}

describe('--state-dir: versions remembered across restarts', () => {
  it('takes an unchanged file’s version from the state file after a restart, without digesting it', async () => {
    const data = join(dir, 'a');
    const state = join(dir, 'a-state');
    copyFixture('countries.mbtiles', data);
    const first = await start(data, state);
    expect(first.loaded).toMatchObject({ version: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(first.loaded?.remembered).toBeUndefined();
    expect(statSync(join(state, STATE_FILE)).size).toBeGreaterThan(0);
    const second = await start(data, state);
    expect(second.loaded).toMatchObject({ version: first.loaded?.version, remembered: true });
  });

  it('digests again when only the ctime moved (chmod), and finds the same version', async () => {
    const data = join(dir, 'b');
    const state = join(dir, 'b-state');
    const path = copyFixture('countries.mbtiles', data);
    const first = await start(data, state);
    chmodSync(path, 0o600);
    const second = await start(data, state);
    expect(second.loaded?.remembered).toBeUndefined();
    expect(second.loaded?.version).toBe(first.loaded?.version);
  });

  it('never serves a stale version when tiles are rewritten in place and the mtime is set back', async () => {
    const data = join(dir, 'c');
    const state = join(dir, 'c-state');
    const path = copyFixture('world_cities.mbtiles', data);
    // A whole-second mtime, so that setting it back restores it to the nanosecond: only the ctime tells.
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    const first = await start(data, state, 'world_cities');
    const before = statSync(path, { bigint: true });
    const db = new Database(path);
    const row = db.prepare('SELECT rowid AS id, tile_data AS data FROM tiles LIMIT 1').get() as { id: number; data: Buffer };
    row.data[row.data.length - 1] = (row.data[row.data.length - 1] as number) ^ 0xff;
    db.prepare('UPDATE tiles SET tile_data = ? WHERE rowid = ?').run(row.data, row.id);
    db.close();
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    const after = statSync(path, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    const second = await start(data, state, 'world_cities');
    expect(second.loaded?.remembered).toBeUndefined();
    expect(second.loaded?.version).not.toBe(first.loaded?.version);
  });

  it('serves without it, after one warning, when the state dir cannot be written', async () => {
    const data = join(dir, 'd');
    copyFixture('countries.mbtiles', data);
    copyFixture('world_cities.mbtiles', data);
    writeFileSync(join(dir, 'not-a-dir'), '');
    const run = await start(data, join(dir, 'not-a-dir', 'state'));
    expect(run.health.status).toBe('ok');
    expect(run.loaded?.version).toMatch(/^[0-9a-f]{16}$/);
    expect(run.warnings.map((w) => w.message)).toEqual([
      'state dir not writable: versions will be computed again after a restart',
    ]);
  });

  it('ignores a corrupt state file: the versions are computed again and it is rewritten', async () => {
    const data = join(dir, 'e');
    const state = join(dir, 'e-state');
    copyFixture('countries.mbtiles', data);
    const first = await start(data, state);
    writeFileSync(join(state, STATE_FILE), '\0\0garbage');
    const second = await start(data, state);
    expect(second.loaded).toMatchObject({ version: first.loaded?.version });
    expect(second.loaded?.remembered).toBeUndefined();
    expect((await start(data, state)).loaded).toMatchObject({ version: first.loaded?.version, remembered: true });
  });
});
