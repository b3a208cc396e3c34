import { aggTilesHash, storedAggTilesHash, writeAggTilesHash } from './storage/agg-tiles-hash.ts';
import { MbtilesError, MbtilesFile, messageOf } from './storage/mbtiles.ts';
import type { SqliteDriver } from './storage/sqlite.ts';

/** Where `tilestamp stamp` writes: stdout for `hash  path` lines, stderr for problems. */
export interface StampOutput {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `tilestamp stamp FILE... [--check]`: computes martin's agg_tiles_hash of each file and writes
 * it into the metadata (or, with `check`, compares it with the one stored, like `mbtiles
 * validate`), so `--version-from metadata` starts instantly on a file of any size. Tiles are not
 * touched, so a file being served keeps its content version. Exit code: 0 when every file was
 * stamped (or matched), 1 otherwise.
 */
export function stampFiles(driver: SqliteDriver, files: readonly string[], check: boolean, output: StampOutput): number {
  let failures = 0;
  for (const path of files) {
    try {
      // Checked as the server checks a file (tables, schema) before anything is written.
      MbtilesFile.open(driver, path).close();
      const db = check ? driver.openReadOnly(path) : driver.openReadWrite(path);
      try {
        const hash = aggTilesHash(db);
        if (check) {
          const stored = storedAggTilesHash(db);
          if (stored !== hash) {
            failures += 1;
            output.err(`tilestamp: ${path}: agg_tiles_hash is ${stored ?? 'missing'}, the tiles give ${hash}`);
            continue;
          }
        } else {
          writeAggTilesHash(db, hash);
        }
        output.out(`${hash}  ${path}`);
      } finally {
        db.close();
      }
    } catch (error) {
      failures += 1;
      const reason = error instanceof MbtilesError ? error.message : messageOf(error);
      output.err(`tilestamp: ${path}: ${reason}`);
    }
  }
  return failures === 0 ? 0 : 1;
}
