import BetterSqlite3 from 'better-sqlite3';
import { needsWalFallback, walCopy } from './read-only-wal.ts';
import type { Database, Row, SqliteDriver, Statement } from './sqlite.ts';

/**
 * Node driver: better-sqlite3, read-only, `fileMustExist` so a typo never creates an empty file.
 * Busy timeout 0: a file locked by another process fails at once (SQLITE_BUSY, a 503) instead of
 * waiting up to 5 s on the event loop, as better-sqlite3 does by default, with every request.
 */
export const betterSqliteDriver: SqliteDriver = {
  name: 'better-sqlite3',
  openReadOnly(path: string): Database {
    const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true, timeout: 0 });
    try {
      db.prepare('SELECT count(*) FROM sqlite_master').get(); // WAL mode shows only at the first read
    } catch (error) {
      if (!needsWalFallback(error, path)) return wrap(db); // the caller's reads report it
      db.close();
      return wrap(openCopy(path));
    }
    return wrap(db);
  },
  openReadWrite(path: string): Database {
    return wrap(new BetterSqlite3(path, { fileMustExist: true }));
  },
};

/**
 * A WAL-mode file in a folder tilestamp cannot write: SQLite needs a `-shm` beside it, and
 * better-sqlite3 has no `immutable` (no URI filenames). So it reads a copy in memory (walCopy).
 */
function openCopy(path: string): BetterSqlite3.Database {
  return new BetterSqlite3(walCopy(path), { readonly: true });
}

function wrap(db: BetterSqlite3.Database): Database {
  return {
    prepare(sql: string): Statement {
      const stmt = db.prepare(sql);
      return {
        get: (...params) => stmt.get(...params) as Row | undefined,
        all: (...params) => stmt.all(...params) as Row[],
        iterate: (...params) => stmt.iterate(...params) as IterableIterator<Row>,
      };
    },
    exec: (sql: string) => void db.exec(sql),
    close: () => db.close(),
  };
}
