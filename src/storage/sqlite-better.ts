import BetterSqlite3 from 'better-sqlite3';
import type { Database, Row, SqliteDriver, Statement } from './sqlite.ts';

/** Node driver: better-sqlite3, read-only, `fileMustExist` so a typo never creates an empty file. */
export const betterSqliteDriver: SqliteDriver = {
  name: 'better-sqlite3',
  openReadOnly(path: string): Database {
    return wrap(new BetterSqlite3(path, { readonly: true, fileMustExist: true }));
  },
  openReadWrite(path: string): Database {
    return wrap(new BetterSqlite3(path, { fileMustExist: true }));
  },
};

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
