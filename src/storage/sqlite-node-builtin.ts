import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { Database, Row, SqliteDriver, Statement } from './sqlite.ts';

type Param = null | number | bigint | string | Uint8Array;

/**
 * `node:sqlite` driver, used under Deno (and usable on Node >= 22.5). Its blobs are plain
 * Uint8Array; they are turned into Buffer views (no copy) so Koa sends them as bytes, not JSON.
 */
export const nodeSqliteDriver: SqliteDriver = {
  name: 'node:sqlite',
  openReadOnly(path: string): Database {
    return wrap(new DatabaseSync(path, { readOnly: true }));
  },
  openReadWrite(path: string): Database {
    // node:sqlite would create a missing file: refuse one first, as better-sqlite3's fileMustExist does.
    if (!existsSync(path)) throw new Error(`no such file: ${path}`);
    return wrap(new DatabaseSync(path));
  },
};

function wrap(db: DatabaseSync): Database {
  return {
    prepare(sql: string): Statement {
      const stmt = db.prepare(sql);
      return {
        get: (...params) => toBuffers(stmt.get(...(params as Param[])) as Row | undefined),
        all: (...params) => (stmt.all(...(params as Param[])) as Row[]).map((r) => toBuffers(r) as Row),
        *iterate(...params) {
          for (const row of stmt.iterate(...(params as Param[]))) yield toBuffers(row as Row) as Row;
        },
      };
    },
    exec: (sql: string) => db.exec(sql),
    close: () => db.close(),
  };
}

function toBuffers(row: Row | undefined): Row | undefined {
  if (row === undefined) return undefined;
  for (const key of Object.keys(row)) {
    const value = row[key];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
      row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return row;
}
