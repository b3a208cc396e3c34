import BetterSqlite3 from 'better-sqlite3';
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
    return {
      prepare(sql: string): Statement {
        const stmt = db.prepare(sql);
        return {
          get: (...params) => stmt.get(...params) as Row | undefined,
          all: (...params) => stmt.all(...params) as Row[],
          iterate: (...params) => stmt.iterate(...params) as IterableIterator<Row>,
        };
      },
      close: () => db.close(),
    };
  },
};
