import type { SqliteDriver } from './sqlite.ts';

/** True when running under Deno rather than Node. */
export function isDeno(): boolean {
  return 'Deno' in globalThis;
}

/**
 * Picks the SQLite driver once, at start-up. The import is dynamic so that Deno never tries to
 * load better-sqlite3 and Node 20 (which has no `node:sqlite`) never tries to load the other.
 */
export async function loadSqliteDriver(): Promise<SqliteDriver> {
  if (isDeno()) return (await import('./sqlite-node-builtin.ts')).nodeSqliteDriver;
  return (await import('./sqlite-better.ts')).betterSqliteDriver;
}
