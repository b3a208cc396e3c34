import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stampFiles } from '../../src/stamp.ts';
import { betterSqliteDriver } from '../../src/storage/sqlite-better.ts';
import { execSql, readStoredTiles, removeDir, tempDir } from '../helpers/fixtures.ts';
import { rawTile as tile, writeTilesFile } from '../helpers/tiles-file.ts';

/** martin's agg_tiles_hash of the tiles the file holds now, computed apart from the code under test. */
function currentHash(path: string): string {
  const md5 = createHash('md5');
  for (const t of readStoredTiles(path)) md5.update(`${t.z}${t.x}${t.y}`).update(t.data);
  return md5.digest('hex').toUpperCase();
}

function storedHash(path: string): string | undefined {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT value FROM metadata WHERE name = 'agg_tiles_hash'").pluck().get() as string | undefined;
  } finally {
    db.close();
  }
}

/**
 * Another writer's transaction, tried once without waiting: 'committed', or the SQLite code that
 * refused it (SQLITE_BUSY while `stamp` holds its lock).
 */
function tryWrite(path: string, sql: string): string {
  const db = new Database(path, { timeout: 0 });
  try {
    db.exec(`BEGIN IMMEDIATE; ${sql}; COMMIT;`);
    return 'committed';
  } catch (error) {
    return String((error as { code?: unknown }).code);
  } finally {
    db.close();
  }
}

let dir: string;
let counter = 0;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

function fileIn(mode: 'delete' | 'wal'): string {
  const path = writeTilesFile(join(dir, `race-${counter++}.mbtiles`), [tile(0, 0, 0, 1, 2, 3), tile(1, 1, 1, 4, 5)]);
  execSql(path, `PRAGMA journal_mode = ${mode}`);
  return path;
}

const output = () => {
  const lines = { out: [] as string[], err: [] as string[] };
  return { lines, out: (l: string) => lines.out.push(l), err: (l: string) => lines.err.push(l) };
};

describe('tilestamp stamp against a writer that commits while it runs', () => {
  it.each(['delete', 'wal'] as const)('journal_mode=%s: holds the write lock from before the hash to the commit', (mode) => {
    const path = fileIn(mode);
    const io = output();
    let writer = '';
    const code = stampFiles(
      betterSqliteDriver,
      [path],
      { check: false, afterHash: () => (writer = tryWrite(path, "UPDATE tiles SET tile_data = x'0909' WHERE zoom_level = 0")) },
      io,
    );
    expect(writer).toBe('SQLITE_BUSY');
    expect(code).toBe(0);
    expect(storedHash(path)).toBe(currentHash(path));
    expect(io.lines.out).toEqual([`${currentHash(path)}  ${path}`]);
  });

  it.each(['delete', 'wal'] as const)(
    'journal_mode=%s: --check compares the hash and the stored value of one snapshot',
    (mode) => {
      const path = fileIn(mode);
      expect(stampFiles(betterSqliteDriver, [path], { check: false }, output())).toBe(0);
      const io = output();
      // A writer that changes a tile and stamps its new hash in the same transaction: consistent
      // before and after, so --check must never see its tiles from before and its hash from after.
      const code = stampFiles(
        betterSqliteDriver,
        [path],
        {
          check: true,
          afterHash: () => {
            const md5 = createHash('md5')
              .update('000')
              .update(Buffer.from([9, 9]))
              .update('111')
              .update(Buffer.from([4, 5]));
            const hash = md5.digest('hex').toUpperCase();
            tryWrite(
              path,
              `UPDATE tiles SET tile_data = x'0909' WHERE zoom_level = 0; UPDATE metadata SET value = '${hash}' WHERE name = 'agg_tiles_hash'`,
            );
          },
        },
        io,
      );
      expect(io.lines.err).toEqual([]);
      expect(code).toBe(0);
    },
  );
});

describe('tilestamp stamp progress', () => {
  it('reports how far the hash has got, per file, when asked (the CLI draws it as a bar on a terminal)', () => {
    const path = fileIn('delete');
    const seen: { path: string; bytes: number; total: number }[] = [];
    const code = stampFiles(
      betterSqliteDriver,
      [path],
      { check: false, progressEveryMs: 0, onProgress: ({ path, bytes, total }) => seen.push({ path, bytes, total }) },
      output(),
    );
    expect(code).toBe(0);
    // Two tiles of 3 and 2 bytes: one report after each, against the file's size.
    expect(seen.map((p) => [p.path, p.bytes])).toEqual([
      [path, 3],
      [path, 5],
    ]);
    expect(seen[0]?.total).toBeGreaterThan(0);
  });
});
