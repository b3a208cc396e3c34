/**
 * What a failed SQLite call says about the file, for both drivers: better-sqlite3 sets `code`
 * (`SQLITE_BUSY`, `SQLITE_IOERR_SHORT_READ`, …), `node:sqlite` sets `errcode` (the extended
 * result code, whose low byte is the primary one).
 * - `busy`: another process holds a lock (SQLITE_BUSY, SQLITE_LOCKED); it passes.
 * - `broken`: the file cannot be read as it is (SQLITE_CORRUPT, SQLITE_IOERR, SQLITE_NOTADB).
 * - `other`: anything else.
 */
export type SqliteFailure = 'busy' | 'broken' | 'other';

const PRIMARY: Record<number, SqliteFailure> = { 5: 'busy', 6: 'busy', 10: 'broken', 11: 'broken', 26: 'broken' };
const BY_NAME: Record<string, SqliteFailure> = {
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  SQLITE_IOERR: 'broken',
  SQLITE_CORRUPT: 'broken',
  SQLITE_NOTADB: 'broken',
};

export function classifySqliteError(error: unknown): SqliteFailure {
  const e = error as { code?: unknown; errcode?: unknown } | undefined;
  if (typeof e?.errcode === 'number') return PRIMARY[e.errcode & 0xff] ?? 'other';
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) {
    const primary = e.code.split('_', 2).join('_');
    return BY_NAME[primary] ?? 'other';
  }
  return 'other';
}

/** File-system and SQLite conditions at open that pass by themselves: retried, never a verdict. */
const TRANSIENT_CODES = new Set(['EACCES', 'EPERM', 'EMFILE', 'ENFILE', 'EIO', 'EBUSY', 'SQLITE_CANTOPEN']);

/**
 * The transient cause of a failed load, looked for along the `cause` chain (a permission, too
 * many open files, an I/O hiccup, a lock held by another process), or undefined when the file
 * itself is at fault.
 */
export function transientCause(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 8;
    e = e.cause as typeof e, depth++
  ) {
    if (classifySqliteError(e) === 'busy') return 'locked by another process';
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code !== undefined && TRANSIENT_CODES.has(code)) return code;
    // better-sqlite3's extended name as it is; node:sqlite's errcode as the primary name.
    if (cannotOpen(e)) return code?.startsWith('SQLITE_CANTOPEN') ? code : 'SQLITE_CANTOPEN';
  }
  return undefined;
}

/** SQLITE_CANTOPEN (any extended code), from either driver: `code` of better-sqlite3, `errcode` of node:sqlite. */
export function cannotOpen(error: unknown): boolean {
  const e = error as { code?: unknown; errcode?: unknown } | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_CANTOPEN')) return true;
  return typeof e?.errcode === 'number' && (e.errcode & 0xff) === 14;
}
