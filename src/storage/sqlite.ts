/**
 * The one SQLite interface the rest of tilestamp knows. Two drivers implement it:
 * better-sqlite3 on Node and `node:sqlite` under Deno (which refuses better-sqlite3, a nan addon).
 * Nothing above the storage layer learns which one runs.
 */

/** A row as a driver returns it: column name → value. Blobs are Uint8Array (Buffer on Node). */
export type Row = Record<string, unknown>;

export interface Statement {
  /** First row, or undefined when there is none. */
  get(...params: unknown[]): Row | undefined;
  /** Every row. Only for small results (metadata, schema). */
  all(...params: unknown[]): Row[];
  /** Rows one at a time, so a large table never sits in memory at once. */
  iterate(...params: unknown[]): IterableIterator<Row>;
}

export interface Database {
  prepare(sql: string): Statement;
  /** Runs SQL without parameters and without results (`tilestamp stamp` writes metadata so). */
  exec(sql: string): void;
  close(): void;
}

export interface SqliteDriver {
  /** Which implementation this is, for logs and /health. */
  readonly name: string;
  /** Opens an existing file read-only; throws when it cannot. */
  openReadOnly(path: string): Database;
  /** Opens an existing file for writing (only `tilestamp stamp` does); throws when it cannot. */
  openReadWrite(path: string): Database;
}
