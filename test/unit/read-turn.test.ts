import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MbtilesFile } from '../../src/storage/mbtiles.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { copyFixture, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';

/** Whether another connection can take the write lock right now (busy timeout 0: no waiting). */
function writerGetsIn(path: string): boolean {
  const writer = new Database(path, { timeout: 0 });
  try {
    writer.exec('BEGIN EXCLUSIVE');
    writer.exec('COMMIT');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  } finally {
    writer.close();
  }
}

describe('tile reads share one read transaction per turn of the event loop', () => {
  let dir: string;
  let path: string;
  let file: MbtilesFile;
  beforeEach(() => {
    dir = tempDir();
    path = copyFixture('countries.mbtiles', dir);
    file = MbtilesFile.open(betterSqliteDriver, path);
  });
  afterEach(() => {
    file.close();
    removeDir(dir);
  });

  it('holds the shared lock for the rest of the turn only, then lets a writer in', async () => {
    const stored = readStoredTiles(path).slice(0, 20);
    for (const t of stored) expect(file.getTile(t.z, t.x, t.y)?.equals(t.data)).toBe(true);
    expect(writerGetsIn(path)).toBe(false); // same turn: the reads' transaction is still open
    await nextTurn();
    expect(writerGetsIn(path)).toBe(true);
  });

  it('sees what a writer committed between two turns', async () => {
    const [first] = readStoredTiles(path);
    if (first === undefined) throw new Error('the fixture has no tiles');
    expect(file.getTile(first.z, first.x, first.y)?.equals(first.data)).toBe(true);
    await nextTurn();
    const writer = new Database(path);
    // countries.mbtiles is deduplicated: `tiles` is a view over `map` and `images`.
    const sql =
      'UPDATE images SET tile_data = ? WHERE tile_id = (SELECT tile_id FROM map WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?)';
    writer.prepare(sql).run(Buffer.from('new bytes'), first.z, first.x, first.y);
    writer.close();
    expect(file.getTile(first.z, first.x, first.y)?.toString()).toBe('new bytes');
  });

  it('a handle closed in the middle of a turn leaves no lock behind and nothing thrown at the turn.s end', async () => {
    const [first] = readStoredTiles(path);
    if (first === undefined) throw new Error('the fixture has no tiles');
    file.getTile(first.z, first.x, first.y);
    file.close();
    await nextTurn(); // the turn's end finds the handle closed and does nothing
    expect(writerGetsIn(join(dir, 'countries.mbtiles'))).toBe(true);
    file = MbtilesFile.open(betterSqliteDriver, path);
  });
});
