import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { cannotOpen } from './sqlite-errors.ts';

/**
 * Largest WAL-mode file copied into memory when it lies in a folder tilestamp cannot write and
 * SQLite's `immutable` flag is out of reach: better-sqlite3 is built without URI filenames, and
 * Deno honours URI filenames only with --allow-all. Larger ones are refused with a hint to
 * convert them.
 */
export const READ_ONLY_WAL_COPY_LIMIT = 256 * 1024 * 1024;

/** What to do about a WAL-mode file that cannot be served where it lies. */
export const WAL_CONVERSION_HINT = "convert it to rollback-journal mode: sqlite3 FILE 'PRAGMA journal_mode=DELETE'";

/**
 * True when opening failed because SQLite wanted to write beside the file: a WAL-mode file needs
 * its `-shm` (and `-wal`), which a read-only folder (a `:ro` mount, a root-owned bind mount) refuses.
 */
export function needsWriteAccess(error: unknown): boolean {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_READONLY')) return true;
  if (typeof e?.errcode === 'number' && (e.errcode & 0xff) === 8) return true;
  return typeof e?.message === 'string' && /readonly database/.test(e.message);
}

/**
 * True when SQLite failed only because it cannot set up a WAL-mode file's shared memory beside it,
 * so the file is to be read without (walCopy, or `immutable`): the file is in WAL mode and SQLite
 * said SQLITE_READONLY* (a folder it may not write) or SQLITE_CANTOPEN (a read-only mount, where
 * the `-shm` cannot even be created). Never for a file in another mode, whose failure stands.
 */
export function needsWalFallback(error: unknown, path: string): boolean {
  if (!needsWriteAccess(error) && !cannotOpen(error)) return false;
  try {
    return isWalFile(path);
  } catch {
    return false; // the file itself cannot be read: the original failure stands
  }
}

/** Whether the file's header says WAL mode (read and write versions 2, bytes 18 and 19). */
export function isWalFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    return isWalDescriptor(fd);
  } finally {
    closeSync(fd);
  }
}

/** isWalFile for a file already open: reads its header through `fd`. */
export function isWalDescriptor(fd: number): boolean {
  const header = Buffer.alloc(20);
  return readSync(fd, header, 0, 20, 0) === 20 && header[18] === 2 && header[19] === 2;
}

/**
 * The file's bytes, marked as a rollback-journal file (header bytes 18 and 19 set to 1), for an
 * SQLite in-memory database: no `-shm` needed. In-place changes are still seen, because the
 * source's guard watches the file itself. Throws above READ_ONLY_WAL_COPY_LIMIT.
 */
export function walCopy(path: string): Buffer {
  const size = statSync(path).size;
  if (size > READ_ONLY_WAL_COPY_LIMIT) {
    throw new Error(
      `attempt to write a readonly database: a WAL-mode file of ${size} bytes in a folder tilestamp cannot write ` +
        `(such files are read into memory up to ${READ_ONLY_WAL_COPY_LIMIT} bytes); ${WAL_CONVERSION_HINT}`,
    );
  }
  const bytes = readFileSync(path);
  bytes[18] = 1;
  bytes[19] = 1;
  return bytes;
}
