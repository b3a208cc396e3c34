import { execFileSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, execSql, REPO, removeDir, tempDir } from '../helpers/fixtures.ts';
import { json, rawRequest } from '../helpers/http.ts';
import { startTestServer } from '../helpers/server.ts';

let dir: string;

beforeAll(() => {
  dir = tempDir();
});

afterAll(() => removeDir(dir));

function flipOneByte(path: string): void {
  const db = new Database(path);
  const row = db.prepare('SELECT rowid AS id, tile_data AS data FROM tiles WHERE zoom_level = 6 LIMIT 1').get() as {
    id: number;
    data: Buffer;
  };
  const i = row.data.length >> 1;
  row.data[i] = (row.data[i] as number) ^ 0xff;
  db.prepare('UPDATE tiles SET tile_data = ? WHERE rowid = ?').run(row.data, row.id);
  db.close();
}

async function versionsOf(dataDir: string): Promise<Record<string, string>> {
  const server = await startTestServer(dataDir);
  try {
    const catalog = json<{ id: string; version: string }[]>(await rawRequest(`${server.url}/catalog.json`));
    return Object.fromEntries(catalog.map((e) => [e.id, e.version]));
  } finally {
    await server.close();
  }
}

describe('content versions', () => {
  it('gives a tippecanoe rebuild with identical tiles but different file bytes the same version', async () => {
    const a = join(dir, 'pair');
    copyFixture('countries.mbtiles', a);
    copyFixture('countries-rebuilt.mbtiles', a);
    copyFixture('countries-v2.mbtiles', a);
    const versions = await versionsOf(a);
    expect(versions.countries).toMatch(/^[0-9a-f]{16}$/);
    expect(versions['countries-rebuilt']).toBe(versions.countries);
    expect(versions['countries-v2']).not.toBe(versions.countries);
  });

  it('does not depend on path, file name, folder or mtime', async () => {
    const one = join(dir, 'one');
    const two = join(dir, 'two');
    copyFixture('world_cities.mbtiles', one, 'cities.mbtiles');
    const moved = copyFixture('world_cities.mbtiles', two, 'deep/cities.mbtiles');
    utimesSync(moved, new Date('2001-01-01'), new Date('2001-01-01'));
    const [v1, v2] = [await versionsOf(one), await versionsOf(two)];
    expect(v2['deep/cities']).toBe(v1.cities);
  });

  it('changes when one byte of one tile changes, not when only metadata does', async () => {
    const base = join(dir, 'edits');
    copyFixture('world_cities.mbtiles', base, 'original.mbtiles');
    execSql(
      copyFixture('world_cities.mbtiles', base, 'metadata-edit.mbtiles'),
      "UPDATE metadata SET value = 'Renamed' WHERE name = 'name'; INSERT INTO metadata VALUES ('attribution', 'someone'); VACUUM",
    );
    // Flip one byte in the middle of one tile (z6 is the deepest level).
    flipOneByte(copyFixture('world_cities.mbtiles', base, 'tile-edit.mbtiles'));
    execSql(
      copyFixture('world_cities.mbtiles', base, 'tile-removed.mbtiles'),
      'DELETE FROM tiles WHERE rowid = (SELECT MAX(rowid) FROM tiles)',
    );
    const v = await versionsOf(base);
    expect(v['metadata-edit']).toBe(v.original);
    expect(v['tile-edit']).not.toBe(v.original);
    expect(v['tile-removed']).not.toBe(v.original);
    expect(new Set(Object.values(v)).size).toBe(3);
  });

  it('is printed by `tilestamp version FILE...` exactly as the server publishes it', async () => {
    const base = join(dir, 'cli');
    const files = [copyFixture('countries.mbtiles', base), copyFixture('world_cities.mbtiles', base)];
    const published = await versionsOf(base);
    const out = execFileSync('node', [join(REPO, 'dist/cli.js'), 'version', ...files], { encoding: 'utf8' });
    expect(out).toBe(`${published.countries}  countries  ${files[0]}\n${published.world_cities}  world_cities  ${files[1]}\n`);
  });

  it('makes `tilestamp version` exit 1 with the reason for a file it cannot read', () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync('node', [join(REPO, 'dist/cli.js'), 'version', join(REPO, 'test/fixtures/invalid.mbtiles')], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (error) {
      failure = error as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toMatch(/invalid\.mbtiles: .*(metadata|SQLite|database)/);
  });
});
