import { statSync } from 'node:fs';
import { messageOf } from './error-message.ts';
import { type DigestProgress, ProgressMeter } from './source/progress.ts';
import { aggTilesHash, inTransaction, storedAggTilesHash, writeAggTilesHash } from './storage/agg-tiles-hash.ts';
import { MbtilesError, MbtilesFile } from './storage/mbtiles.ts';
import type { Database, SqliteDriver } from './storage/sqlite.ts';

/** Where `tilestamp stamp` writes: stdout for `hash  path` lines, stderr for problems. */
export interface StampOutput {
  out(line: string): void;
  err(line: string): void;
}

/** What `tilestamp stamp` does besides hashing. */
export interface StampOptions {
  /** Compare with the stored hash instead of writing it. */
  check: boolean;
  /** Called every `progressEveryMs` while a file is hashed (the CLI draws a bar on a terminal). */
  onProgress?: (progress: DigestProgress & { path: string }) => void;
  /** Default 2000. */
  progressEveryMs?: number;
  /**
   * Runs once the hash of a file is computed, before it is written or compared, inside the same
   * transaction: the seam where a test lets a writer try to commit between the two.
   */
  afterHash?: (path: string) => void;
}

/**
 * `tilestamp stamp FILE... [--check]`: computes martin's agg_tiles_hash of each file and writes
 * it into the metadata (or, with `check`, compares it with the one stored, like `mbtiles
 * validate`), so `--version-from metadata` starts instantly on a file of any size. The write lock
 * is taken before the hash is computed and held until it is written, so a writer cannot commit
 * tiles in between and leave a stale hash behind (such a writer waits, or fails with "database is
 * locked"); `check` reads the tiles and the stored hash in one read transaction. Tiles are not
 * touched, so a file being served keeps its content version. Exit code: 0 when every file was
 * stamped (or matched), 1 otherwise.
 */
export function stampFiles(driver: SqliteDriver, files: readonly string[], options: StampOptions, output: StampOutput): number {
  let failures = 0;
  for (const path of files) {
    try {
      // Checked as the server checks a file (tables, schema) before anything is written.
      MbtilesFile.open(driver, path).close();
      const db = options.check ? driver.openReadOnly(path) : driver.openReadWrite(path);
      try {
        const { hash, stored } = stampOne(db, path, options);
        if (options.check && stored !== hash) {
          failures += 1;
          output.err(`tilestamp: ${path}: agg_tiles_hash is ${stored ?? 'missing'}, the tiles give ${hash}`);
          continue;
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

/** Hashes one file and writes (or reads back) its agg_tiles_hash, in one transaction. */
function stampOne(db: Database, path: string, options: StampOptions): { hash: string; stored: string | undefined } {
  return inTransaction(db, options.check ? 'read' : 'write', () => {
    const hash = aggTilesHash(db, progressCounter(path, options));
    options.afterHash?.(path);
    if (options.check) return { hash, stored: storedAggTilesHash(db) };
    writeAggTilesHash(db, hash);
    return { hash, stored: hash };
  });
}

/** Counts hashed bytes against the file's size and reports every `progressEveryMs`. */
function progressCounter(path: string, options: StampOptions): ((bytes: number) => void) | undefined {
  const { onProgress } = options;
  if (onProgress === undefined) return undefined;
  const every = options.progressEveryMs ?? 2000;
  const meter = new ProgressMeter(statSync(path).size);
  let shown = 0;
  return (bytes) => {
    meter.add(bytes);
    const elapsed = meter.elapsedMs;
    if (elapsed - shown < every) return;
    shown = elapsed;
    onProgress({ ...meter.read(), path });
  };
}
