import { createHash } from 'node:crypto';
import { copyFileSync, renameSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execSql, readStoredTiles } from './fixtures.ts';

/** SHA-1 (hex) of some bytes: how the wrong-bytes checks compare what they got with what they expect. */
export const sha1 = (bytes: Uint8Array): string => createHash('sha1').update(bytes).digest('hex');

/**
 * Rewrites the z0 tile of an MBTiles file in place with SQLite (its last byte flipped: same
 * length, so the file keeps its size), then puts the mtime back, as `touch -d` would: the file
 * looks untouched but for its ctime (give the file a whole-second mtime first: times are put back
 * at millisecond precision). Returns the SHA-1 of the tile before and after.
 */
export function rewriteInPlace(path: string): { before: string; after: string } {
  const { atime, mtime, size } = statSync(path);
  const stored = readStoredTiles(path).find((t) => t.z === 0);
  if (stored === undefined) throw new Error(`${path} has no z0 tile`);
  const changed = Buffer.from(stored.data);
  changed[changed.length - 1] = (changed[changed.length - 1] ?? 0) ^ 0xff;
  const blob = `X'${changed.toString('hex')}'`;
  // A plain `tiles` table, or the deduplicated schema's `images` behind a `tiles` view.
  const db = new Database(path, { readonly: true });
  const view = db.prepare("SELECT type FROM sqlite_master WHERE name = 'tiles'").get() as { type: string };
  db.close();
  execSql(
    path,
    view.type === 'view'
      ? `UPDATE images SET tile_data = ${blob} WHERE tile_id IN (SELECT tile_id FROM map WHERE zoom_level = 0)`
      : `UPDATE tiles SET tile_data = ${blob} WHERE zoom_level = 0`,
  );
  utimesSync(path, atime, mtime);
  const now = statSync(path);
  if (now.size !== size || now.mtimeMs !== mtime.getTime()) throw new Error('the rewrite changed the size or the mtime');
  return { before: sha1(stored.data), after: sha1(changed) };
}

/** Renames `source` (copied first, so it can be used again) over `target`: an atomic replace. */
export function renameCopyOver(source: string, target: string): void {
  const staged = join(target, '..', `.staged-${process.hrtime.bigint()}.tmp`);
  copyFileSync(source, staged);
  renameSync(staged, target);
}
