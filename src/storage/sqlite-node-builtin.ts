import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { needsWalFallback, walCopy } from './read-only-wal.ts';
import type { Database, Row, SqliteDriver, Statement } from './sqlite.ts';

type Param = null | number | bigint | string | Uint8Array;

/**
 * `node:sqlite` driver, used under Deno (and usable on Node >= 22.5). Its blobs are plain
 * Uint8Array; they are turned into Buffer views (no copy) so Koa sends them as bytes, not JSON.
 * Busy timeout 0, as for better-sqlite3: a locked file never holds the event loop. Set by
 * PRAGMA: Deno 2.9's `node:sqlite` waits 5 s by default and ignores the `timeout` option.
 */
export const nodeSqliteDriver: SqliteDriver = {
  name: 'node:sqlite',
  openReadOnly(path: string): Database {
    let db = open(path);
    try {
      db.prepare('SELECT count(*) FROM sqlite_master').get(); // WAL mode shows only at the first read
    } catch (error) {
      if (needsWalFallback(error, path)) {
        db.close();
        db = openWithoutShm(path);
      }
    }
    return wrap(db);
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

function open(path: string | URL): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: true, timeout: 0 });
  db.exec('PRAGMA busy_timeout = 0');
  return db;
}

/**
 * A WAL-mode file in a folder tilestamp cannot write (SQLite cannot create its `-shm`) is opened
 * `immutable`: no locks, no `-shm`. Safe here: an in-place change is caught by the source's guard
 * (size and mtime after every read), and a file with a `-wal` holding content is never taken.
 * Deno honours URI filenames only with --allow-all; otherwise the file is read into memory.
 */
function openWithoutShm(path: string): DatabaseSync {
  const url = pathToFileURL(path);
  url.search = 'immutable=1';
  try {
    const db = open(url);
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch {
    const db = new DatabaseSync(':memory:');
    const bytes = walCopy(path);
    db.deserialize(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return db;
  }
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
