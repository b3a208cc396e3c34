// The slice of `node:sqlite` the Deno driver uses. @types/node 20 (our floor) predates the
// module, and taking @types/node 22 would let Node-22-only APIs slip into code that must run on 20.
declare module 'node:sqlite' {
  type SQLInputValue = null | number | bigint | string | Uint8Array;
  interface StatementSync {
    get(...params: SQLInputValue[]): Record<string, unknown> | undefined;
    all(...params: SQLInputValue[]): Record<string, unknown>[];
    iterate(...params: SQLInputValue[]): IterableIterator<Record<string, unknown>>;
  }
  class DatabaseSync {
    constructor(path: string | URL, options?: { readOnly?: boolean; open?: boolean; timeout?: number });
    prepare(sql: string): StatementSync;
    exec(sql: string): void;
    deserialize(data: Uint8Array): void;
    close(): void;
  }
}
